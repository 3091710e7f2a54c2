"""Daraja B2C end to end: a real Odoo server, its Mpesa callbacks endpoint,
and the Daraja simulator posting results to it over HTTP.

(a) the cron pays a cycle concurrently, the results (some posted twice)
arrive through the fastapi endpoint; (b) a lost callback is settled by the
status-query cron; (c) a server SIGKILLed in the middle of a run pays
nobody twice after a restart (in-flight payments are sent again with their
OriginatorConversationID and answered "duplicate").
"""

import base64
import threading
import time

import pytest
from g2p_simulators.daraja import DarajaSimulator

MANAGER_MODEL = "g2p.program.payment.manager.simple.mpesa"


@pytest.fixture
def daraja():
    sim = DarajaSimulator(delivery="http", callback_delay=0.05, duplicate=0.25, seed=3)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def msisdn(i):
    return "2547%08d" % i


def build_cycle(rpc, server, sim, count, name, amount=100, concurrency=8):
    program = rpc.call("g2p.program", "create", {"name": f"{name} program"})
    tag = rpc.call(
        "g2p.payment.batch.tag",
        "create",
        {"name": "All", "order": 1, "domain": "[]", "max_batch_size": 500},
    )
    manager = rpc.call(
        MANAGER_MODEL,
        "create",
        {
            "name": f"{name} Daraja",
            "program_id": program,
            "create_batch": True,
            "batch_tag_ids": [(6, 0, [tag])],
            "payee_id_type": "phone",
            "gateway_type": "daraja-b2c",
            "auth_endpoint_url": sim.token_url,
            "payment_endpoint_url": sim.payment_url,
            "daraja_consumer_key": sim.consumer_key,
            "daraja_consumer_secret": sim.consumer_secret,
            "daraja_shortcode": sim.shortcode,
            "daraja_initiator_name": sim.initiator_name,
            "daraja_initiator_password": sim.initiator_password,
            "daraja_certificate": base64.b64encode(sim.certificate_pem).decode(),
            "daraja_callback_base_url": server.url,
            "daraja_concurrency": concurrency,
            "api_timeout": 5,
        },
    )
    rpc.link_payment_manager(program, MANAGER_MODEL, manager)
    cycle = rpc.create_cycle(program, f"{name} cycle")
    partners = rpc.call(
        "res.partner",
        "create",
        [
            {"name": f"{name} {i}", "is_registrant": True, "phone": "07%08d" % i}
            for i in range(1, count + 1)
        ],
    )
    rpc.call(
        "g2p.entitlement",
        "create",
        [
            {
                "partner_id": p,
                "cycle_id": cycle,
                "initial_amount": amount,
                "state": "approved",
            }
            for p in partners
        ],
    )
    rpc.call("g2p.cycle", "prepare_payment", [cycle])
    rpc.call("g2p.cycle", "send_payment", [cycle])
    return {"manager": manager, "cycle": cycle}


def cron_id(rpc, name):
    [row] = rpc.call(
        "ir.model.data",
        "search_read",
        [("module", "=", "g2p_payment_simple_mpesa"), ("name", "=", name)],
        fields=["res_id"],
    )
    return row["res_id"]


def trigger(rpc, name):
    rpc.call("ir.cron", "method_direct_trigger", [cron_id(rpc, name)])


def payments(rpc, cycle):
    return rpc.call(
        "g2p.payment",
        "search_read",
        [("cycle_id", "=", cycle)],
        fields=["mpesa_state", "status", "daraja_ocid", "daraja_receipt"],
        order="id",
    )


def wait_for(what, predicate, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def all_paid(rpc, cycle):
    rows = payments(rpc, cycle)
    return rows if {r["mpesa_state"] for r in rows} == {"paid"} else None


def test_cycle_is_paid_by_result_callbacks_over_http(
    odoo_db, odoo_server_factory, rpc_factory, daraja
):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    ids = build_cycle(rpc, server, daraja, 20, "Daraja")
    trigger(rpc, "ir_cron_mpesa_disburse")
    rows = wait_for("the result callbacks", lambda: all_paid(rpc, ids["cycle"]))
    assert all(r["daraja_receipt"] for r in rows)
    assert len({r["daraja_ocid"] for r in rows}) == 20
    assert daraja.ledger() == {msisdn(i): 1 for i in range(1, 21)}
    assert daraja.peak_in_flight > 1
    # Some results were posted twice; every copy has been answered.
    assert daraja.callbacks_duplicated > 0
    wait_for(
        "every copy of the callbacks",
        lambda: daraja.callbacks_done() == 20 + daraja.callbacks_duplicated,
    )
    trigger(rpc, "ir_cron_mpesa_disburse")
    assert sum(daraja.ledger().values()) == 20


def test_lost_callback_is_settled_by_the_status_query_cron(
    odoo_db, odoo_server_factory, rpc_factory, daraja
):
    daraja.add_fault("lose_callback", msisdn=msisdn(2))
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    ids = build_cycle(rpc, server, daraja, 3, "Lost")
    trigger(rpc, "ir_cron_mpesa_disburse")
    wait_for(
        "two results",
        lambda: (
            [r["mpesa_state"] for r in payments(rpc, ids["cycle"])].count("paid") == 2
        ),
    )
    [waiting] = rpc.call(
        "g2p.payment",
        "search",
        [("cycle_id", "=", ids["cycle"]), ("mpesa_state", "=", "accepted")],
    )
    rpc.call("g2p.payment", "write", [waiting], {"daraja_deadline": "2000-01-01"})
    trigger(rpc, "ir_cron_daraja_status")
    wait_for("the status query result", lambda: all_paid(rpc, ids["cycle"]))
    assert daraja.status_queries == 1
    assert daraja.ledger() == {msisdn(i): 1 for i in range(1, 4)}


def test_server_killed_mid_run_pays_nobody_twice_after_restart(
    odoo_db, odoo_server_factory, rpc_factory, daraja
):
    count = 30
    daraja.state.latency = 0.3
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    ids = build_cycle(rpc, server, daraja, count, "Killed", concurrency=2)

    def run_cron():
        try:
            trigger(rpc, "ir_cron_mpesa_disburse")
        except Exception:  # noqa: BLE001 - the server is killed under us
            pass

    worker = threading.Thread(target=run_cron, daemon=True)
    worker.start()
    wait_for("some requests", lambda: daraja.requests >= 6)
    server.kill()
    worker.join(timeout=30)
    sent_before = daraja.requests
    assert 0 < sent_before < count
    daraja.state.latency = 0.0
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    rpc.call(
        MANAGER_MODEL,
        "write",
        [ids["manager"]],
        {"daraja_callback_base_url": server.url},
    )
    trigger(rpc, "ir_cron_mpesa_disburse")
    # Results posted to the dead server are lost: the status queries find them.
    open_ids = rpc.call(
        "g2p.payment",
        "search",
        [("cycle_id", "=", ids["cycle"]), ("mpesa_state", "=", "accepted")],
    )
    rpc.call("g2p.payment", "write", open_ids, {"daraja_deadline": "2000-01-01"})
    trigger(rpc, "ir_cron_daraja_status")
    wait_for("every payment settled", lambda: all_paid(rpc, ids["cycle"]))
    assert daraja.ledger() == {msisdn(i): 1 for i in range(1, count + 1)}
