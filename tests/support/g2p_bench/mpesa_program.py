"""A program paid by a simple Mpesa payment manager, made through the ORM."""

MANAGER = "g2p.program.payment.manager.simple.mpesa"


def create_mpesa_program(env, program_name, tag_name, batch_size, **manager_vals):
    """Program, one catch-all batch tag and the manager; ``(program, manager)``.

    ``manager_vals`` add to (or override) the manager's values: its name,
    endpoints, credentials.  Payees are known by phone.
    """
    from odoo import Command  # noqa: PLC0415 - Odoo is located at run time

    program = env["g2p.program"].create({"name": program_name})
    tag = env["g2p.payment.batch.tag"].create(
        {"name": tag_name, "order": 1, "domain": "[]", "max_batch_size": batch_size}
    )
    manager = env[MANAGER].create(
        {
            "program_id": program.id,
            "create_batch": True,
            "batch_tag_ids": [Command.set(tag.ids)],
            "payee_id_type": "phone",
            **manager_vals,
        }
    )
    if program.payment_managers:
        # Both bases give a new program its one payment manager: point it at ours.
        program.payment_managers[:1].manager_ref_id = manager
    else:
        program.payment_managers = [
            Command.create(
                {"program_id": program.id, "manager_ref_id": f"{MANAGER},{manager.id}"}
            )
        ]
    return program, manager
