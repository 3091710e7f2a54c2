"""Daraja B2C end to end: a real Odoo server, its Mpesa callbacks endpoint,
and the Daraja simulator posting results to it over HTTP.

(a) the cron pays a cycle concurrently, the results (some posted twice)
arrive through the fastapi endpoint; (b) a lost callback is settled by the
status-query cron; (c) a server SIGKILLed in the middle of a run pays
nobody twice after a restart (in-flight payments are sent again with their
OriginatorConversationID and answered "duplicate").
"""

import threading

import pytest
from daraja_e2e_support import (
    MANAGER_MODEL,
    all_paid,
    build_cycle,
    msisdn,
    payments,
    trigger,
    wait_for,
)
from g2p_simulators.daraja import DarajaSimulator


@pytest.fixture
def daraja():
    sim = DarajaSimulator(delivery="http", callback_delay=0.05, duplicate=0.25, seed=3)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_cycle_is_paid_by_result_callbacks_over_http(
    odoo_db, odoo_server_factory, rpc_factory, daraja
):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    ids = build_cycle(rpc, server, daraja, 20, "Daraja", daraja_concurrency=8)
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
    ids = build_cycle(rpc, server, daraja, 3, "Lost", daraja_concurrency=8)
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
    ids = build_cycle(rpc, server, daraja, count, "Killed", daraja_concurrency=2)

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
