"""The Daraja sending engine under the faults of issue 12 (pins its fixes).

* a rate-limited answer (spike arrest, quota, or a 429 met while renewing the
  token) is not an attempt: it never uses up Max Attempts nor lengthens the
  back-off, and it slows the sender down like any spike arrest;
* one burst answered to N parallel requests is one slow-down, not N;
* a refusal after a request that may have been accepted is "in doubt" (a
  status query settles it), never "failed".
"""

import time

import pytest
from daraja_send_support import client_for, simulator
from g2p_simulators.daraja import INTERNAL, SPIKE_ARREST

from g2p_payment_simple_mpesa.mpesa.const import (
    AMBIGUOUS,
    DARAJA_ACCEPTED,
    FAILED,
    IN_DOUBT,
    OK,
    QUEUED,
    RETRYABLE,
    SENDING,
    TERMINAL,
)
from g2p_payment_simple_mpesa.mpesa.daraja_client import (
    DarajaOutcome,
)
from g2p_payment_simple_mpesa.mpesa.daraja_send import (
    DarajaItem,
    RateGovernor,
    decide_for,
    send,
    throttled,
)


class Store:
    """The store contract in memory, keeping what the Odoo store persists."""

    def __init__(self):
        self.state = {}
        self.attempts = {}  # key -> item.attempts as last recorded
        self.records = []

    def begin_send(self, item):
        if self.state.get(item.key, QUEUED) != QUEUED:
            return False
        self.state[item.key] = SENDING
        return True

    def record_result(self, item, outcome, decision):
        self.records.append((item.key, outcome.kind, decision.state, decision))
        self.attempts[item.key] = item.attempts
        if self.state[item.key] == SENDING:
            self.state[item.key] = decision.state


@pytest.fixture
def sim():
    yield from simulator()


def client_of(sim, read_timeout=0.8):
    return client_for(sim, read_timeout, pool_size=8)


def item(i, **extra):
    return DarajaItem(i, f"OCID-{i}", 100, "2547%08d" % i, "Cash transfer", **extra)


def outcome(kind, status=None, sent=True, **extra):
    return DarajaOutcome(kind, status, "m", 0.0, sent, **extra)


def test_a_429_of_any_endpoint_means_slow_down_and_nothing_else_does():
    assert throttled(outcome(RETRYABLE, 429, sent=False))  # token renewal
    assert throttled(outcome(RETRYABLE, 500, rate_limited=True))
    assert not throttled(outcome(RETRYABLE, 503))
    assert not throttled(outcome(AMBIGUOUS, 500))
    assert not throttled(outcome(TERMINAL, 429))


def test_refusal_after_a_request_that_may_have_been_accepted_is_in_doubt():
    fresh = item(1, attempts=2)
    assert decide_for(outcome(TERMINAL, 400), fresh).state == FAILED
    doubted = item(2, attempts=2, maybe_sent=True)
    decision = decide_for(outcome(TERMINAL, 400), doubted)
    assert decision.state == IN_DOUBT
    assert "Transaction Status" in decision.reason and "refused" in decision.reason
    # Everything else is decided as before.
    assert decide_for(outcome(OK), doubted).state == DARAJA_ACCEPTED
    assert decide_for(outcome(AMBIGUOUS), doubted).state == QUEUED


def test_local_problem_after_an_unanswered_request_is_in_doubt_without_a_request(
    sim,
):
    sim.add_fault("timeout_after", nth=1, delay=1.2)
    store, payment, client = Store(), item(1), client_of(sim)
    send([payment], client, store)
    assert store.state[1] == QUEUED and payment.maybe_sent
    store.state[1] = QUEUED
    payment.msisdn = "0712"  # the payee edited meanwhile, now invalid
    report = send([payment], client, store)
    assert store.state[1] == IN_DOUBT and report.sent == 0
    assert sim.requests == 1 and sim.ledger() == {"254700000001": 1}


def test_rate_limited_answers_give_their_attempt_back(sim):
    account = "254700000001"
    sim.add_fault("error", msisdn=account, code=SPIKE_ARREST, times=4)
    sim.add_fault("error", msisdn=account, code=INTERNAL, times=1)
    store, payment = Store(), item(1)
    governor = RateGovernor(2, pause=0.05)
    report = send([payment], client_of(sim), store, max_attempts=5, governor=governor)
    # Four spike arrests re-sent in the run, then one real (ambiguous) try:
    # queued to be sent again soon, not in doubt after "5 attempts".
    assert report.rate_limited == 4 and sim.requests == 5
    assert store.state[1] == QUEUED and store.attempts[1] == 1
    last = store.records[-1][3]
    assert last.retry_after == pytest.approx(5.0)
    report = send([payment], client_of(sim), store, max_attempts=5)
    assert store.state[1] == DARAJA_ACCEPTED and store.attempts[1] == 2
    assert sim.ledger() == {account: 1}


def test_a_429_met_while_renewing_the_token_pauses_and_resends_in_the_run(sim):
    sim.add_fault("rate_burst", nth=3, delay=0.4)  # token endpoint included
    sim.add_fault("token_expiry", nth=3)
    store, batch = Store(), [item(i) for i in range(1, 13)]
    governor = RateGovernor(2, pause=0.2)
    report = send(batch, client_of(sim), store, governor=governor)
    assert sim.tokens_refused >= 1 and report.rate_limited >= 2
    assert report.counts == {DARAJA_ACCEPTED: 12}
    assert set(store.attempts.values()) == {1}
    assert sim.ledger() == {i.msisdn: 1 for i in batch}


def test_a_run_that_starts_in_a_spike_arrest_waits_instead_of_stopping(sim):
    sim.rate_burst(0.3)  # the token endpoint answers 429 as well
    store, batch = Store(), [item(i) for i in range(1, 6)]
    governor = RateGovernor(2, pause=0.2)
    report = send(batch, client_of(sim), store, governor=governor)
    assert report.aborted is None
    assert report.rate_limited >= 1
    assert report.counts == {DARAJA_ACCEPTED: 5}
    assert set(store.attempts.values()) == {1}
    assert sim.ledger() == {i.msisdn: 1 for i in batch}


def test_a_token_endpoint_that_fails_otherwise_still_stops_the_run(sim):
    client = client_of(sim)
    client.token_url = "http://127.0.0.1:9/oauth/v1/generate"  # nothing listens
    report = send([item(1)], client, Store())
    assert report.aborted and "Could not reach the Daraja token" in report.aborted
    assert report.rate_limited == 0
    assert sim.requests == 0


def test_one_burst_answered_to_parallel_requests_is_one_slow_down():
    now = [10.0]
    gov = RateGovernor(8, clock=lambda: now[0], pause=1.0)
    for _answer in range(8):  # all sent at 9.5, before the first 429 came back
        gov.note(outcome(RETRYABLE, 429, rate_limited=True), sent_at=9.5)
    assert gov.limit == 4 and gov.wait_time() == pytest.approx(1.0)
    now[0] = 11.0
    probe_sent = now[0]
    now[0] = 11.1
    gov.note(outcome(RETRYABLE, 429, rate_limited=True), sent_at=probe_sent)
    assert gov.limit == 2 and gov.wait_time() == pytest.approx(2.0)


def test_deadline_keeps_rate_limited_items_queued_with_their_attempts(sim):
    sim.add_fault("rate_burst", nth=1, delay=5.0)
    store, batch = Store(), [item(1), item(2)]
    governor = RateGovernor(2, pause=0.1)
    report = send(
        batch,
        client_of(sim),
        store,
        governor=governor,
        deadline=time.monotonic() + 0.5,
    )
    assert report.stopped_by_deadline and report.counts == {QUEUED: 2}
    assert set(store.state.values()) == {QUEUED}
    assert set(store.attempts.values()) == {0}
    assert sim.ledger() == {}
