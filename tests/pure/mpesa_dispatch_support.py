"""What the Mpesa dispatch tests share: the in-memory store standing for the
database, the simulator they pay through, and the exactly-once check.

Each test module takes the simulator through its own ``sim`` fixture
(``yield from simulator()``).
"""

from g2p_simulators.simple_mpesa import SimulatorServer

from g2p_payment_simple_mpesa.mpesa.client import SimpleMpesaClient
from g2p_payment_simple_mpesa.mpesa.const import FAILED, PAID, QUEUED, SENDING
from g2p_payment_simple_mpesa.mpesa.dispatch import DispatchItem, dispatch

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


def simulator():
    """A started simulator with the agent and PAYEES; stopped afterwards."""
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
