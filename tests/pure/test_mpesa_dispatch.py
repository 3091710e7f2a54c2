"""Dispatch engine end to end: every simulator fault ends in the right state
and nothing is ever paid twice (simulator per-account counts)."""

import pytest
from mpesa_dispatch_support import (
    PAYEES,
    STALL,
    MemoryStore,
    assert_exactly_once,
    items_for,
    make_client,
    run_all,
    simulator,
)

from g2p_payment_simple_mpesa.mpesa.client import Outcome
from g2p_payment_simple_mpesa.mpesa.const import (
    AMBIGUOUS,
    APPLIED,
    FAILED,
    IN_DOUBT,
    NOT_APPLIED,
    OK,
    PAID,
    QUEUED,
    RETRYABLE,
    SENDING,
    TERMINAL,
    UNKNOWN,
)
from g2p_payment_simple_mpesa.mpesa.dispatch import (
    BalanceLedger,
    backoff_seconds,
    decide,
    dispatch,
    recover_stale_state,
)


@pytest.fixture
def sim():
    yield from simulator()


# -- pure decisions -------------------------------------------------------------


def _outcome(kind, sent=True, systemic=False, status=None):
    return Outcome(kind, status, "msg", 1.0, sent, None, systemic)


def test_backoff_is_exponential_and_capped():
    delays = [backoff_seconds(n) for n in range(1, 12)]
    assert delays[:3] == [30.0, 60.0, 120.0]
    assert delays == sorted(delays) and max(delays) == 3600.0
    assert backoff_seconds(10_000) == 3600.0 and backoff_seconds(0) == 30.0


def test_decide_table():
    assert decide(_outcome(OK), 1, 5).state == PAID
    failed = decide(_outcome(TERMINAL), 1, 5)
    assert failed.state == FAILED and failed.reason == "msg"
    doubt = decide(_outcome(AMBIGUOUS), 1, 5)
    assert doubt.state == IN_DOUBT and doubt.retry_after is None
    retry = decide(_outcome(RETRYABLE), 2, 5)
    assert retry.state == QUEUED and retry.retry_after == 60.0
    assert decide(_outcome(RETRYABLE), 5, 5).state == FAILED
    # credentials refused before sending: never the payee's fault
    systemic = decide(_outcome(RETRYABLE, sent=False, systemic=True), 9, 5)
    assert systemic.state == QUEUED
    wrong_url = decide(_outcome(RETRYABLE, sent=True, systemic=True, status=404), 9, 5)
    assert wrong_url.state == QUEUED
    with pytest.raises(ValueError):
        decide(_outcome("weird"), 1, 5)


def test_ledger_classify():
    assert BalanceLedger.classify(1000, 900, 100) == APPLIED
    assert BalanceLedger.classify(1000, 1000, 100) == NOT_APPLIED
    assert BalanceLedger.classify(1000, 850, 100) == UNKNOWN
    assert BalanceLedger.classify(None, 900, 100) == UNKNOWN


def test_ledger_taints_after_unresolved_deposit():
    ledger = BalanceLedger(1000)
    assert ledger.settle(1000, 100) == NOT_APPLIED  # could still land later
    # same numbers again would look "applied" if the first one lands late
    assert ledger.settle(900, 100) == UNKNOWN
    ledger.resync(900)
    assert ledger.settle(800, 100) == APPLIED and ledger.expected == 800


def test_recover_stale_sending_is_in_doubt():
    assert recover_stale_state(SENDING) == IN_DOUBT
    assert recover_stale_state(QUEUED) == QUEUED


# -- engine against the simulator: one test per fault -----------------------------


def test_happy_batch_pays_everyone_once(sim):
    store = MemoryStore(items_for(PAYEES))
    report = run_all(sim, store)[0]
    assert report.counts[PAID] == len(PAYEES) and report.sent == len(PAYEES)
    assert not report.stopped_by_deadline and report.aborted is None
    paid, applied = assert_exactly_once(sim, store)
    assert paid == applied == 100 * len(PAYEES)


def test_fault_latency_still_pays_once(sim):
    sim.add_fault("latency", delay=0.15, nth=2)
    store = MemoryStore(items_for(PAYEES[:3]))
    run_all(sim, store)
    assert {store.state(k) for k in store.rows} == {PAID}
    assert_exactly_once(sim, store)


@pytest.mark.parametrize("status", [429, 503])
def test_fault_throttled_is_retried_later_and_paid_once(sim, status):
    sim.add_fault("status", status=status, account=PAYEES[1], times=2)
    store = MemoryStore(items_for(PAYEES[:3]))
    reports = run_all(sim, store)
    assert reports[0].counts == {PAID: 2, QUEUED: 1}
    assert store.rows["pay-1"]["retry_after"] is None  # paid in the end
    assert store.state("pay-1") == PAID and store.rows["pay-1"]["attempts"] == 3
    assert_exactly_once(sim, store)


def test_fault_throttled_gives_up_after_max_attempts(sim):
    sim.add_fault("status", status=429, account=PAYEES[0], times=None)
    store = MemoryStore(items_for(PAYEES[:1]))
    run_all(sim, store, runs=10, max_attempts=3)
    assert store.state("pay-0") == FAILED and store.rows["pay-0"]["attempts"] == 3
    assert "gave up after 3 attempts" in store.rows["pay-0"]["reason"]
    assert sim.deposit_counts() == {}


@pytest.mark.parametrize("apply", [False, True])
def test_fault_unexplained_5xx_is_in_doubt_never_resent(sim, apply):
    sim.add_fault("status", status=500, account=PAYEES[1], apply=apply)
    store = MemoryStore(items_for(PAYEES[:3]))
    reports = run_all(sim, store)
    assert store.state("pay-1") == IN_DOUBT
    assert len(reports) == 1  # no later run picks the in-doubt payment up
    assert sim.deposit_count(PAYEES[1]) == int(apply)
    assert [k for k in store.begun if k == "pay-1"] == ["pay-1"]
    assert_exactly_once(sim, store)


def test_fault_timeout_before_applying_is_in_doubt_not_paid(sim):
    sim.add_fault("timeout_before", delay=STALL, account=PAYEES[0])
    store = MemoryStore(items_for(PAYEES[:2]))
    run_all(sim, store)
    assert store.state("pay-0") == IN_DOUBT and store.state("pay-1") == PAID
    assert sim.deposit_count(PAYEES[0]) == 0
    assert_exactly_once(sim, store)


def test_fault_timeout_after_applying_is_in_doubt_never_paid_twice(sim):
    sim.add_fault("timeout_after", delay=STALL, account=PAYEES[0])
    store = MemoryStore(items_for(PAYEES[:2]))
    run_all(sim, store)
    assert store.state("pay-0") == IN_DOUBT
    assert "not re-sent" in store.rows["pay-0"]["reason"]
    assert sim.deposit_count(PAYEES[0]) == 1  # the money did move, exactly once
    assert_exactly_once(sim, store)


@pytest.mark.parametrize("kind, applied", [("drop_after", 1), ("drop_before", 0)])
def test_fault_dropped_connection_is_in_doubt(sim, kind, applied):
    sim.add_fault(kind, nth=1)
    store = MemoryStore(items_for(PAYEES[:2]))
    run_all(sim, store)
    assert store.state("pay-0") == IN_DOUBT and store.state("pay-1") == PAID
    assert sim.deposit_count(PAYEES[0]) == applied
    assert_exactly_once(sim, store)


def test_fault_token_expiry_relogs_in_and_pays_once(sim):
    sim.add_fault("token_expiry", nth=2)
    store = MemoryStore(items_for(PAYEES[:3]))
    client = make_client(sim)
    report = dispatch(store.queued(), client, store)
    assert report.counts == {PAID: 3}
    assert client.login_count == 2
    assert_exactly_once(sim, store)


def test_connection_refused_is_queued_not_paid(sim):
    client = make_client(sim)
    client.payment_url = "http://127.0.0.1:9/api/transaction/deposit"  # discard port
    store = MemoryStore(items_for(PAYEES[:2]))
    report = dispatch(store.queued(), client, store, max_attempts=2)
    assert report.counts == {QUEUED: 2}
    assert all(r["retry_after"] == 30.0 for r in store.rows.values())
    report = dispatch(store.queued(), client, store, max_attempts=2)
    assert report.counts == {FAILED: 2}
    assert sim.requests == 0
