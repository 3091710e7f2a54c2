"""Dispatch engine, a batch at a time: one bad payment never stops the rest,
runs stop cleanly, and crashes or revoked credentials never pay twice."""

import itertools

import pytest
from mpesa_dispatch_support import (
    AGENT,
    PAYEES,
    START_BALANCE,
    MemoryStore,
    assert_exactly_once,
    items_for,
    make_client,
    simulator,
)

from g2p_payment_simple_mpesa.mpesa.client import SimpleMpesaClient
from g2p_payment_simple_mpesa.mpesa.const import (
    FAILED,
    FINAL_STATES,
    IN_DOUBT,
    PAID,
    QUEUED,
    SENDING,
)
from g2p_payment_simple_mpesa.mpesa.dispatch import (
    DispatchItem,
    dispatch,
    recover_stale_state,
)


@pytest.fixture
def sim():
    yield from simulator()


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
