"""Dispatch engine: in-doubt payments settled from the agent balance delta,
and real refusals kept failed (simulator per-account counts)."""

import pytest
from mpesa_dispatch_support import (
    AGENT,
    PAYEES,
    STALL,
    MemoryStore,
    assert_exactly_once,
    items_for,
    make_client,
    run_all,
    simulator,
)

from g2p_payment_simple_mpesa.mpesa.const import FAILED, IN_DOUBT, PAID
from g2p_payment_simple_mpesa.mpesa.dispatch import BalanceLedger, dispatch


@pytest.fixture
def sim():
    yield from simulator()


# -- reconciliation through the agent balance ---------------------------------------


def test_ledger_resolves_applied_after_timeout_as_paid(sim):
    sim.add_fault("timeout_after", delay=STALL, account=PAYEES[1])
    store = MemoryStore(items_for(PAYEES[:3]))
    report = run_all(sim, store, ledger=BalanceLedger())[0]
    assert store.state("pay-1") == PAID
    assert "balance fell by exactly 100" in store.rows["pay-1"]["reason"]
    assert report.reconciled == 1 and report.counts == {PAID: 3}
    assert_exactly_once(sim, store)


def test_ledger_keeps_not_applied_timeout_in_doubt(sim):
    sim.add_fault("timeout_before", delay=STALL, account=PAYEES[0])
    store = MemoryStore(items_for(PAYEES[:2]))
    ledger = BalanceLedger()
    run_all(sim, store, ledger=ledger)
    assert store.state("pay-0") == IN_DOUBT
    assert "agent balance did not fall" in store.rows["pay-0"]["reason"]
    assert ledger.tainted  # later in-doubt payments could not be settled blindly
    assert_exactly_once(sim, store)


def test_ledger_drop_after_apply_resolved_paid(sim):
    sim.add_fault("drop_after", account=PAYEES[2])
    store = MemoryStore(items_for(PAYEES[:4]))
    run_all(sim, store, ledger=BalanceLedger())
    assert {r["state"] for r in store.rows.values()} == {PAID}
    assert_exactly_once(sim, store)


def test_ledger_catches_refusal_after_debit(sim):
    # the gateway debits the agent, then fails the credit with a business error
    sim.add_fault(
        "status",
        status=500,
        apply=True,
        account=PAYEES[1],
        message="couldn't access account. frozen",
    )
    store = MemoryStore(items_for(PAYEES[:3]))
    run_all(sim, store, ledger=BalanceLedger())
    assert store.state("pay-1") == IN_DOUBT
    assert "debited without credit" in store.rows["pay-1"]["reason"]
    assert store.state("pay-0") == store.state("pay-2") == PAID
    assert_exactly_once(sim, store)


def test_ledger_keeps_real_refusals_failed(sim):
    sim.freeze(PAYEES[0])
    store = MemoryStore(items_for(PAYEES[:2]))
    ledger = BalanceLedger()
    run_all(sim, store, ledger=ledger)
    assert store.state("pay-0") == FAILED and store.state("pay-1") == PAID
    assert ledger.expected == sim.balance_of(AGENT) and not ledger.tainted


def test_unreadable_balance_does_not_block_payments(sim):
    client = make_client(sim)
    client.balance_url = sim.base_url + "/api/account/missing"
    sim.add_fault("drop_after", account=PAYEES[0])
    store = MemoryStore(items_for(PAYEES[:2]))
    ledger = BalanceLedger()
    report = dispatch(store.queued(), client, store, ledger=ledger)
    assert report.aborted is None and ledger.tainted
    assert store.state("pay-0") == IN_DOUBT and store.state("pay-1") == PAID
    assert_exactly_once(sim, store)
