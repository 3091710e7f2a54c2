"""The Daraja sending engine against the simulator, with faults.

Every test ends with the simulator's per-MSISDN ledger: each payee paid
exactly once.
"""

import threading
import time
from collections import Counter

import pytest
from daraja_send_support import client_for, simulator

from g2p_payment_simple_mpesa.mpesa.const import (
    AMBIGUOUS,
    DARAJA_ACCEPTED,
    DARAJA_CALLBACK_TIMEOUT,
    FAILED,
    IN_DOUBT,
    OK,
    PAID,
    QUEUED,
    RETRYABLE,
    SENDING,
    TERMINAL,
)
from g2p_payment_simple_mpesa.mpesa.daraja_client import (
    DarajaOutcome,
)
from g2p_payment_simple_mpesa.mpesa.daraja_results import parse_callback
from g2p_payment_simple_mpesa.mpesa.daraja_send import (
    DarajaItem,
    RateGovernor,
    decide,
    send,
)


class MemoryStore:
    """The store contract in memory; fails the test if called off the main thread."""

    def __init__(self):
        self.state = {}
        self.attempts = Counter()
        self.records = []
        self.thread = threading.get_ident()

    def _here(self):
        assert threading.get_ident() == self.thread, "store called from a worker"

    def begin_send(self, item):
        self._here()
        if self.state.get(item.key, QUEUED) != QUEUED:
            return False
        self.state[item.key] = SENDING
        self.attempts[item.key] += 1
        return True

    def record_result(self, item, outcome, decision):
        self._here()
        self.records.append((item.key, item.ocid, outcome.kind, decision.state))
        if self.state[item.key] == SENDING:  # a callback may have settled it
            self.state[item.key] = decision.state

    def apply_callbacks(self, sim, by_ocid):
        for url, body in sim.take_callbacks():
            kind = DARAJA_CALLBACK_TIMEOUT if url.endswith("timeout") else "result"
            result = parse_callback(body, kind)
            key = by_ocid[result.ocid]
            if self.state[key] in (PAID, FAILED) or result.outcome == "unknown":
                continue
            self.state[key] = PAID if result.outcome == "paid" else FAILED


@pytest.fixture
def sim():
    yield from simulator()


def make_client(sim, read_timeout=0.8):
    return client_for(sim, read_timeout, pool_size=16)


def items(count, amount=100):
    return [
        DarajaItem(
            key=i,
            ocid=f"OCID-{i}",
            amount=amount,
            msisdn="2547%08d" % i,
            remarks="Cash transfer",
        )
        for i in range(1, count + 1)
    ]


def run_until_settled(sim, store, batch, runs=8, callbacks_late=False, **options):
    """Like the cron: send what is queued, again, until nothing is.

    ``callbacks_late``: results arrive only after every run (so retries of
    accepted payments meet Daraja's duplicate check).
    """
    by_ocid = {item.ocid: item.key for item in batch}
    client = make_client(sim)
    reports = []
    for _run in range(runs):
        todo = [i for i in batch if store.state.get(i.key, QUEUED) == QUEUED]
        if not todo:
            break
        reports.append(
            send(todo, client, store, deadline=time.monotonic() + 30, **options)
        )
        if not callbacks_late:
            store.apply_callbacks(sim, by_ocid)
    store.apply_callbacks(sim, by_ocid)
    return reports


def assert_paid_exactly_once(sim, store, batch):
    assert {store.state[i.key] for i in batch} == {PAID}
    ledger = sim.ledger()
    assert {ledger.get(i.msisdn) for i in batch} == {1}, ledger


def test_payments_go_concurrently_bounded_and_each_payee_is_paid_once(sim):
    sim.state.latency = 0.02
    store, batch = MemoryStore(), items(120)
    [report] = run_until_settled(sim, store, batch, concurrency=8)
    assert report.counts == {DARAJA_ACCEPTED: 120} and report.sent == 120
    assert 1 < sim.peak_in_flight <= 8
    assert_paid_exactly_once(sim, store, batch)


def test_timeouts_drops_and_internal_errors_are_retried_with_the_same_ocid(sim):
    sim.add_fault("timeout_after", nth=3, delay=1.2)
    sim.add_fault("drop_after", nth=5)
    sim.add_fault("timeout_before", nth=7, delay=1.2)
    sim.add_fault("error", nth=9, code="500.003.1001", apply=True)
    sim.add_fault("error", nth=11, code="500.003.1001")
    store, batch = MemoryStore(), items(20)
    reports = run_until_settled(sim, store, batch, concurrency=4, callbacks_late=True)
    assert len(reports) >= 2
    assert sum(r.duplicates for r in reports) == 3  # accepted, answer lost
    ambiguous = {k for k, _o, kind, _s in store.records if kind == AMBIGUOUS}
    assert len(ambiguous) == 5
    for key in ambiguous:
        assert len({o for k, o, _kind, _s in store.records if k == key}) == 1
    assert_paid_exactly_once(sim, store, batch)


def test_spike_arrest_slows_down_and_recovers_without_losing_anyone(sim):
    sim.state.latency = 0.01
    sim.state.spike_limit = 6
    sim.state.spike_window = 0.2
    store, batch = MemoryStore(), items(60)
    governor = RateGovernor(8, pause=0.1, recover_after=5)
    [report] = run_until_settled(sim, store, batch, governor=governor)
    assert report.rate_limited > 0 and sim.rate_limited == report.rate_limited
    assert report.lowest_limit < 8
    assert report.counts == {DARAJA_ACCEPTED: 60}
    assert_paid_exactly_once(sim, store, batch)


def test_quota_errors_count_as_rate_limits_and_never_fail_a_payment(sim):
    sim.add_fault("error", code="500.003.03", times=6)
    store, batch = MemoryStore(), items(10)
    governor = RateGovernor(4, pause=0.05)
    [report] = run_until_settled(sim, store, batch, governor=governor, max_attempts=2)
    assert report.rate_limited == 6 and report.counts == {DARAJA_ACCEPTED: 10}
    assert_paid_exactly_once(sim, store, batch)


def test_token_invalidated_mid_run_is_renewed_once(sim):
    sim.add_fault("token_expiry", nth=10)
    store, batch = MemoryStore(), items(30)
    [report] = run_until_settled(sim, store, batch, concurrency=4)
    assert report.counts == {DARAJA_ACCEPTED: 30}
    assert sim.tokens_issued == 2
    assert_paid_exactly_once(sim, store, batch)


def test_lost_and_duplicated_callbacks_leave_accepted_then_settle_once(sim):
    sim.add_fault("lose_callback", msisdn="254700000002")
    sim.add_fault("duplicate_callback", msisdn="254700000003")
    store, batch = MemoryStore(), items(4)
    run_until_settled(sim, store, batch)
    assert store.state[2] == DARAJA_ACCEPTED  # awaits a status query
    assert [store.state[k] for k in (1, 3, 4)] == [PAID] * 3
    assert sim.ledger() == {i.msisdn: 1 for i in batch}


def test_wrong_credentials_abort_the_run_before_any_request(sim):
    client = make_client(sim)
    sim.state.consumer_secret = "rotated"
    store, batch = MemoryStore(), items(5)
    report = send(batch, client, store)
    assert report.aborted and "consumer key" in report.aborted
    assert report.sent == 0 and store.records == [] and sim.requests == 0


def test_invalid_payee_or_amount_fails_locally_without_a_request(sim):
    batch = items(3)
    batch[0].msisdn = "0712"
    batch[1].amount = 5
    batch[2].amount = 10.5
    store = MemoryStore()
    report = send(batch, make_client(sim), store)
    assert report.counts == {FAILED: 3} and report.sent == 0
    assert sim.requests == 0


def test_deadline_stops_new_sends_and_waits_for_those_in_flight(sim):
    sim.state.latency = 0.05
    store, batch = MemoryStore(), items(40)
    report = send(
        batch, make_client(sim), store, concurrency=2, deadline=time.monotonic() + 0.2
    )
    assert report.stopped_by_deadline
    assert 0 < report.sent < 40
    assert SENDING not in store.state.values()


def outcome(kind, **extra):
    return DarajaOutcome(kind, None, "m", 0.0, True, **extra)


def test_decide_never_gives_up_on_rate_limits_and_doubts_after_ambiguity():
    item = DarajaItem(1, "o", 10, "254700000001", "rr", attempts=5)
    assert decide(outcome(RETRYABLE, rate_limited=True), item, 5).state == QUEUED
    assert decide(outcome(AMBIGUOUS), item, 5).state == IN_DOUBT
    assert decide(outcome(RETRYABLE), item, 5).state == FAILED
    item.maybe_sent = True
    assert decide(outcome(RETRYABLE), item, 5).state == IN_DOUBT
    item.attempts = 1
    retry = decide(outcome(AMBIGUOUS), item, 5)
    assert retry.state == QUEUED and retry.retry_after > 0
    assert decide(outcome(OK, duplicate=True), item).state == DARAJA_ACCEPTED
    assert decide(outcome(TERMINAL), item).state == FAILED


def test_governor_halves_on_rate_limits_and_adds_threads_back():
    now = [0.0]
    gov = RateGovernor(8, clock=lambda: now[0], pause=1.0, recover_after=2)
    gov.note(outcome(RETRYABLE, rate_limited=True))
    gov.note(outcome(RETRYABLE, rate_limited=True))
    assert gov.limit == 2 and gov.wait_time() == pytest.approx(2.0)
    now[0] = 5.0
    for _ in range(4):
        gov.note(outcome(OK))
    assert gov.limit == 4 and gov.wait_time() == 0
