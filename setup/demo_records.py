"""The demo records, created over JSON-RPC (stdlib only: no Odoo import).

``load`` (called through ``demo_data.load``) makes the registrants, the two
programs with their payment managers, an approved cycle of each, and turns
the disbursement cron on; ``call(model, method, *args, **kw)`` has JSON-RPC
semantics (ids in, ids out).
"""

import time
from datetime import date

from demo_data import (
    AGENT_EMAIL,
    AGENT_PASSWORD,
    AMOUNT,
    COMPANY_NAME,
    CRON_XMLID,
    CURRENCY,
    ID_TYPE,
    MARKER_PARAM,
    MPESA_CYCLE,
    MPESA_MANAGER_MODEL,
    MPESA_PROGRAM,
    TRANSFER_FEE,
    VOUCHER_BARCODE,
    VOUCHER_CLAIMS,
    VOUCHER_CYCLE,
    VOUCHER_PROGRAM,
    VOUCHER_TEMPLATE,
    VOUCHER_VALIDITY_DAYS,
    VOUCHERS_PER_PAGE,
    RpcError,
    registrants,
    summary,
)


def _one(call, model, domain, **kw):
    ids = call(model, "search", domain, limit=1, **kw)
    return ids[0] if ids else False


def _xmlid(call, xmlid):
    module, name = xmlid.split(".", 1)
    rows = call(
        "ir.model.data",
        "search_read",
        [("module", "=", module), ("name", "=", name)],
        ["res_id"],
    )
    if not rows:
        raise RpcError(f"{xmlid} not found: is its module installed?")
    return rows[0]["res_id"]


def is_loaded(call):
    return bool(call("ir.config_parameter", "get_param", MARKER_PARAM))


def load(call, simulator_url, count, log):
    """Create the demo records; does nothing when they are already there."""
    if is_loaded(call):
        log("demo data already loaded")
        return False
    if _one(
        call,
        "g2p.program",
        [("name", "in", [VOUCHER_PROGRAM, MPESA_PROGRAM])],
        context={"active_test": False},
    ):
        raise RpcError(
            "a demo program exists but the demo data is incomplete (an earlier load "
            "was interrupted): start over with `bash setup/demo.sh --reset`"
        )
    company_id = _xmlid(call, "base.main_company")
    call("res.company", "write", [company_id], {"name": COMPANY_NAME})
    currency_id = _currency(call)
    partner_ids = _registrants(call, count)
    voucher_program = _program(call, VOUCHER_PROGRAM, currency_id)
    _file_manager(call, voucher_program)
    _cycle(call, voucher_program, VOUCHER_CYCLE, partner_ids)
    mpesa_program = _program(call, MPESA_PROGRAM, currency_id)
    _mpesa_manager(call, mpesa_program, simulator_url)
    _cycle(call, mpesa_program, MPESA_CYCLE, partner_ids)
    _cron(call)
    call("ir.config_parameter", "set_param", MARKER_PARAM, time.strftime("%F %T"))
    log(f"demo data loaded: {summary(call)}")
    return True


def _currency(call):
    cid = _one(
        call, "res.currency", [("name", "=", CURRENCY)], context={"active_test": False}
    )
    call("res.currency", "write", [cid], {"active": True})
    return cid


def _registrants(call, count):
    id_type = _one(call, "g2p.id.type", [("name", "=", ID_TYPE)]) or call(
        "g2p.id.type", "create", {"name": ID_TYPE}
    )
    vals = [
        {
            "name": p["name"],
            "is_registrant": True,
            "email": p["email"],
            "phone": p["phone"],
            "reg_ids": [(0, 0, {"id_type": id_type, "value": p["national_id"]})],
            "bank_ids": [(0, 0, {"acc_number": p["acc_number"], "iban": p["iban"]})],
        }
        for p in registrants(count)
    ]
    return call("res.partner", "create", vals)


def _program(call, name, currency_id):
    """A program paying in currency_id, on either base.

    The real OpenG2P base takes a program's currency from its disbursement
    journal; the stand-in carries it on the program.
    """
    fields = call("g2p.program", "fields_get", [], attributes=["type"])
    if "journal_id" not in fields:
        return call("g2p.program", "create", {"name": name, "currency_id": currency_id})
    code = "D%s" % (call("account.journal", "search_count", []) + 1)
    journal_id = call(
        "account.journal",
        "create",
        {
            "name": f"{name} disbursements",
            "code": code[:5],
            "type": "bank",
            "beneficiary_disb": True,
            "currency_id": currency_id,
        },
    )
    return call("g2p.program", "create", {"name": name, "journal_id": journal_id})


def _attach_manager(call, program_id, model, manager_id):
    """Make manager_id the program's payment manager.

    Both bases give a program one default payment manager and allow no
    second: point that row at ours.
    """
    ref = f"{model},{manager_id}"
    [row] = call("g2p.program", "read", [program_id], ["payment_managers"])
    if row["payment_managers"]:
        call(
            "g2p.program.payment.manager",
            "write",
            row["payment_managers"][:1],
            {"manager_ref_id": ref},
        )
        return
    vals = {"program_id": program_id, "manager_ref_id": ref}
    call("g2p.program", "write", [program_id], {"payment_managers": [(0, 0, vals)]})


def _file_manager(call, program_id):
    store_id = call("storage.backend", "create", {"name": "Demo voucher store"})
    call("g2p.program", "write", [program_id], {"supporting_documents_store": store_id})
    config_id = call(
        "g2p.payment.file.config",
        "create",
        {
            "name": "Demo voucher",
            "type": "pdf",
            "vouchers_per_page": VOUCHERS_PER_PAGE,
            "body_string": VOUCHER_TEMPLATE,
            "qrcode_config_ids": [
                (
                    0,
                    0,
                    {
                        "name": "voucher_qr",
                        "type": "qrcode",
                        "data_type": "jwt",
                        "body_string": VOUCHER_CLAIMS,
                        "validity_days": VOUCHER_VALIDITY_DAYS,
                        "qrcode_error_correct": "0",
                        "qrcode_box_size": 4,
                    },
                ),
                (
                    0,
                    0,
                    {
                        "name": "voucher_barcode",
                        "type": "code-128-barcode",
                        "data_type": "string",
                        "body_string": VOUCHER_BARCODE,
                    },
                ),
            ],
        },
    )
    model = "g2p.program.payment.manager.file"
    manager_id = call(
        model,
        "create",
        {
            "name": "Demo voucher payments",
            "program_id": program_id,
            "create_batch": True,
            "batch_tag_ids": [
                (
                    0,
                    0,
                    {
                        "name": "Demo vouchers",
                        "order": 1,
                        "domain": "[]",
                        "max_batch_size": 25,
                        "render_files_per_payment": True,
                        "file_config_ids": [(6, 0, [config_id])],
                    },
                )
            ],
            "payment_file_config_ids": [(6, 0, [config_id])],
        },
    )
    _attach_manager(call, program_id, model, manager_id)
    return manager_id


def _mpesa_manager(call, program_id, simulator_url):
    base = simulator_url.rstrip("/")
    model = MPESA_MANAGER_MODEL
    manager_id = call(
        model,
        "create",
        {
            "name": "Demo Mpesa payments",
            "program_id": program_id,
            "create_batch": True,
            "batch_tag_ids": [
                (
                    0,
                    0,
                    {
                        "name": "Demo Mpesa batches",
                        "order": 1,
                        "domain": "[]",
                        "max_batch_size": 20,
                    },
                )
            ],
            # simple-mpesa knows its customers by e-mail
            "payee_id_type": "email",
            "customer_type": "subscriber",
            "auth_endpoint_url": f"{base}/api/login/agent",
            "payment_endpoint_url": f"{base}/api/transaction/deposit",
            "api_timeout": 10,
            "username": AGENT_EMAIL,
            "password": AGENT_PASSWORD,
        },
    )
    _attach_manager(call, program_id, model, manager_id)
    return manager_id


def _cycle(call, program_id, name, partner_ids):
    """An approved cycle of this month with approved entitlements.

    Approved directly: the real base approves through cycle and entitlement
    managers (and funds) that a payments demo does not need.
    """
    today = date.today()
    cycle_id = call(
        "g2p.cycle",
        "create",
        {
            "name": name,
            "program_id": program_id,
            "start_date": today.replace(day=1).isoformat(),
            "end_date": today.isoformat(),
            "state": "approved",
        },
    )
    call(
        "g2p.entitlement",
        "create",
        [
            {
                "partner_id": pid,
                "cycle_id": cycle_id,
                "initial_amount": AMOUNT,
                "transfer_fee": TRANSFER_FEE,
                "state": "approved",
            }
            for pid in partner_ids
        ],
    )
    return cycle_id


def _cron(call):
    """The disbursement cron: active, and every minute so the demo moves."""
    cron_id = _xmlid(call, CRON_XMLID)
    call(
        "ir.cron",
        "write",
        [cron_id],
        {
            "active": True,
            "interval_number": 1,
            "interval_type": "minutes",
        },
    )
    return cron_id
