"""Lost results and reversals settled by Transaction Status queries, end to end.

A real Odoo server pays 300 payments through the Daraja simulator over HTTP;
30% of the result callbacks are lost and 5% of the payments are reversed by
M-Pesa before their result is posted.  The status-query cron asks Daraja;
its results, in Safaricom's published shape (the query's ids on top, the
payment in the parameters), come back on their own callback path.
"""

import pytest
from daraja_e2e_support import (
    build_cycle,
    count_in,
    msisdn,
    query_overdue_now,
    trigger,
    wait_for,
)
from g2p_simulators.daraja import DarajaSimulator

COUNT = 300
LOST = [i for i in range(1, COUNT + 1) if i % 10 in (0, 3, 6)]  # 90: 30%
REVERSED = [i for i in range(1, COUNT + 1) if i % 20 == 1]  # 15: 5%


@pytest.fixture
def daraja():
    sim = DarajaSimulator(delivery="http", callback_delay=0.05, seed=11)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def rows_of(rpc, cycle):
    return rpc.call(
        "g2p.payment",
        "search_read",
        [("cycle_id", "=", cycle)],
        fields=[
            "mpesa_state",
            "status",
            "mpesa_account_no",
            "daraja_receipt",
            "daraja_settled_by",
            "daraja_reversed",
            "mpesa_failure_reason",
        ],
    )


def test_lost_results_and_reversals_are_settled_by_status_queries(
    odoo_db, odoo_server_factory, rpc_factory, daraja
):
    for i in LOST:
        daraja.add_fault("lose_callback", msisdn=msisdn(i))
    for i in REVERSED:
        daraja.add_fault("reverse", msisdn=msisdn(i))
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    ids = build_cycle(
        rpc,
        server,
        daraja,
        COUNT,
        "Status",
        daraja_concurrency=8,
        mpesa_payments_per_run=COUNT,
    )
    cycle = ids["cycle"]
    trigger(rpc, "ir_cron_mpesa_disburse")
    wait_for(
        "every result callback posted to be answered",
        lambda: (
            daraja.callbacks_scheduled
            and daraja.callbacks_done() == daraja.callbacks_scheduled
        ),
        timeout=180,
    )
    # The lost and reversed ones await their result (and any callback the
    # busy server answered with an error: the status query settles it too).
    awaiting = count_in(rpc, cycle, ["accepted"])
    assert awaiting >= len(LOST) + len(REVERSED)

    # As the cron does every few minutes: results a busy server could not
    # take (HTTP 500, not retried by Daraja) are asked for again.
    for _round in range(4):
        query_overdue_now(rpc, cycle)
        wait_for(
            "the status results to be answered",
            lambda: daraja.callbacks_done() == daraja.callbacks_scheduled,
            timeout=180,
        )
        if count_in(rpc, cycle, ["accepted", "in_doubt", "queued"]) == 0:
            break
    assert count_in(rpc, cycle, ["accepted", "in_doubt", "queued"]) == 0
    rows = {r["mpesa_account_no"]: r for r in rows_of(rpc, cycle)}
    for i in LOST:
        row = rows[msisdn(i)]
        assert row["mpesa_state"] == "paid", row
        assert row["daraja_settled_by"] == "status" and row["daraja_receipt"], row
    for i in REVERSED:
        row = rows[msisdn(i)]
        assert (row["mpesa_state"], row["status"]) == ("failed", "failed"), row
        assert row["daraja_reversed"] and "Reversed" in row["mpesa_failure_reason"]
    assert count_in(rpc, cycle, ["paid"]) == COUNT - len(REVERSED)
    assert count_in(rpc, cycle, ["in_doubt"]) == 0
    # Each payee was paid by M-Pesa once (the reversed ones once, then back).
    assert daraja.ledger() == {msisdn(i): 1 for i in range(1, COUNT + 1)}
    assert daraja.reversals == len(REVERSED)
    # Every query was answered from M-Pesa's books, never "not found".
    assert set(daraja.status_answers) == {"Completed", "Reversed"}
    assert daraja.status_answers["Completed"] >= awaiting - len(REVERSED)
    # Nothing more happens: a second pass of both crons sends nothing.
    requests = daraja.requests
    trigger(rpc, "ir_cron_mpesa_disburse")
    trigger(rpc, "ir_cron_daraja_status")
    assert daraja.requests == requests
