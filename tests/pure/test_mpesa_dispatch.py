"""Dispatch engine end to end: every simulator fault ends in the right state
and nothing is ever paid twice (simulator per-account counts)."""

import itertools

import pytest
from g2p_simulators.simple_mpesa import SimulatorServer

from g2p_payment_simple_mpesa.mpesa.client import Outcome, SimpleMpesaClient
from g2p_payment_simple_mpesa.mpesa.const import (
    AMBIGUOUS,
    APPLIED,
    FAILED,
    FINAL_STATES,
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
    DispatchItem,
    backoff_seconds,
    decide,
    dispatch,
    recover_stale_state,
)

AGENT = "agent@sim.test"
PASSWORD = "dispatch-secret"
# Generous for a loaded CI box; stalls outlast it and cost the test nothing.
READ_TIMEOUT = 0.8
STALL = 2.5
START_BALANCE = 1_000_000
PAYEES = [f"p{i}@sim.test" for i in range(6)]


class MemoryStore:
    """In-memory DispatchStore: the 'database' of these tests."""

    def __init__(self, items):
        self.rows = {i.key: {"item": i, "state": QUEUED, "attempts": 0} for i in items}
        self.attempt_log = []
        self.begun = []

    def begin_send(self, item):
        row = self.rows[item.key]
        if row["state"] != QUEUED:
            return False
        row["state"] = SENDING
        row["attempts"] = item.attempts + 1
        self.begun.append(item.key)
        return True

    def record_result(self, item, outcome, decision):
        row = self.rows[item.key]
        assert row["state"] == SENDING and row["attempts"] == item.attempts
        row["state"] = decision.state
        row["reason"] = decision.reason
        row["retry_after"] = decision.retry_after
        self.attempt_log.append((item.key, item.attempts, outcome.kind, decision.state))

    def queued(self):
        """Items a later run would pick up (ignores retry_after for speed)."""
        return [
            DispatchItem(
                k,
                r["item"].amount,
                r["item"].account_no,
                r["item"].customer_type,
                r["attempts"],
            )
            for k, r in self.rows.items()
            if r["state"] == QUEUED
        ]

    def state(self, key):
        return self.rows[key]["state"]


@pytest.fixture
def sim():
    server = SimulatorServer(
        agents=[(AGENT, PASSWORD, START_BALANCE)], customers=PAYEES
    )
    server.start()
    yield server
    server.stop()


def make_client(sim):
    return SimpleMpesaClient(
        sim.auth_url, sim.payment_url, AGENT, PASSWORD, timeout=(2.0, READ_TIMEOUT)
    )


def items_for(accounts, amount=100):
    return [
        DispatchItem(f"pay-{i}", amount, acct, "subscriber")
        for i, acct in enumerate(accounts)
    ]


def run_all(sim, store, runs=4, ledger=None, **kwargs):
    """Several scheduler runs over the same store; returns the reports."""
    client = make_client(sim)
    reports = []
    for _ in range(runs):
        todo = store.queued()
        if not todo:
            break
        reports.append(dispatch(todo, client, store, ledger=ledger, **kwargs))
    return reports


def assert_exactly_once(sim, store):
    """PAID => exactly one deposit; FAILED => none; nothing anywhere twice."""
    counts = sim.deposit_counts()
    assert all(n <= 1 for n in counts.values()), counts
    for row in store.rows.values():
        n = counts.get(row["item"].account_no, 0)
        if row["state"] == PAID:
            assert n == 1
        elif row["state"] in (FAILED, QUEUED):
            assert n == 0
    paid_total = sum(
        r["item"].amount for r in store.rows.values() if r["state"] == PAID
    )
    applied_total = sum(d["amount"] for d in sim.state.deposits)
    assert sim.balance_of(AGENT) == START_BALANCE - applied_total
    return paid_total, applied_total


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
    assert "not_applied" in store.rows["pay-0"]["reason"]
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


# -- batch behaviour ----------------------------------------------------------------


def test_invalid_payees_fail_alone_and_the_batch_goes_on(sim):
    items = [
        DispatchItem("ok-1", 100, PAYEES[0], "subscriber"),
        DispatchItem("unknown", 100, "nobody@sim.test", "subscriber"),
        DispatchItem("too-small", 5, PAYEES[1], "subscriber"),
        DispatchItem("no-account", 100, "", "subscriber"),
        DispatchItem("bad-type", 100, PAYEES[2], "alien"),
        DispatchItem("ok-2", 100, PAYEES[3], "subscriber"),
    ]
    store = MemoryStore(items)
    report = dispatch(store.queued(), make_client(sim), store)
    assert report.counts == {PAID: 2, FAILED: 4}
    assert report.sent == 3  # local checks keep bad amounts/accounts off the wire
    assert store.state("ok-1") == store.state("ok-2") == PAID
    assert "user not found" in store.rows["unknown"]["reason"]
    assert "minimum deposit" in store.rows["too-small"]["reason"]
    assert_exactly_once(sim, store)


def test_insufficient_agent_balance_fails_that_payment_only(sim):
    items = items_for(PAYEES[:2])
    items[0].amount = START_BALANCE + 1
    store = MemoryStore(items)
    report = dispatch(store.queued(), make_client(sim), store)
    assert store.state("pay-0") == FAILED and store.state("pay-1") == PAID
    assert "balance not enough" in store.rows["pay-0"]["reason"]
    assert report.counts == {FAILED: 1, PAID: 1}


def test_deadline_stops_cleanly_between_items(sim):
    ticks = itertools.count()
    store = MemoryStore(items_for(PAYEES))
    report = dispatch(
        store.queued(), make_client(sim), store, deadline=3, clock=lambda: next(ticks)
    )
    assert report.stopped_by_deadline and report.counts == {PAID: 3}
    assert [store.state(f"pay-{i}") for i in range(6)] == [PAID] * 3 + [QUEUED] * 3
    assert len(store.begun) == 3  # nothing left half-started
    report = dispatch(store.queued(), make_client(sim), store)  # next run finishes
    assert report.counts == {PAID: 3}
    assert_exactly_once(sim, store)


def test_items_may_be_a_lazy_generator(sim):
    store = MemoryStore(items_for(PAYEES))
    report = dispatch((i for i in store.queued()), make_client(sim), store)
    assert report.processed == len(PAYEES)


def test_skipped_when_begin_send_declines(sim):
    store = MemoryStore(items_for(PAYEES[:2]))
    todo = store.queued()
    store.rows["pay-0"]["state"] = PAID  # e.g. another worker finished it
    report = dispatch(todo, make_client(sim), store)
    assert report.skipped == 1 and report.counts == {PAID: 1}
    assert sim.deposit_count(PAYEES[0]) == 0


def test_no_gateway_call_when_begin_send_fails(sim):
    class BrokenStore(MemoryStore):
        def begin_send(self, item):
            raise RuntimeError("database down")

    store = BrokenStore(items_for(PAYEES[:1]))
    with pytest.raises(RuntimeError):
        dispatch(store.queued(), make_client(sim), store)
    assert sim.requests == 0


def test_crash_after_send_leaves_sending_which_recovers_as_in_doubt(sim):
    class CrashingStore(MemoryStore):
        def record_result(self, item, outcome, decision):
            raise RuntimeError("worker killed")

    store = CrashingStore(items_for(PAYEES[:1]))
    with pytest.raises(RuntimeError):
        dispatch(store.queued(), make_client(sim), store)
    assert store.state("pay-0") == SENDING and sim.deposit_count(PAYEES[0]) == 1
    assert recover_stale_state(store.state("pay-0")) == IN_DOUBT
    assert store.queued() == []  # never picked up again as sendable


def test_wrong_credentials_abort_before_touching_anything(sim):
    client = SimpleMpesaClient(sim.auth_url, sim.payment_url, AGENT, "wrong")
    store = MemoryStore(items_for(PAYEES[:3]))
    report = dispatch(store.queued(), client, store)
    assert "provided credentials are invalid" in report.aborted
    assert store.begun == [] and report.processed == 0 and sim.requests == 0


def test_credentials_revoked_mid_run_stop_the_run_without_failing(sim):
    store = MemoryStore(items_for(PAYEES[:4]))
    client = make_client(sim)
    client.login()  # the run starts with a valid cached token
    sim.add_fault("token_expiry", nth=2)
    sim.state.agents[AGENT]["password"] = "rotated"
    report = dispatch(store.queued(), client, store)
    assert report.aborted and report.counts == {PAID: 1, QUEUED: 1}
    assert store.state("pay-1") == QUEUED and store.state("pay-2") == QUEUED
    assert_exactly_once(sim, store)


def test_final_states_are_final():
    assert FINAL_STATES == {PAID, FAILED} and IN_DOUBT not in FINAL_STATES
