"""Dispatch state machine: turn gateway outcomes into durable payment states.

The engine is sequential on purpose: the gateway has no idempotency key and
loses balance updates under concurrent deposits by one agent, and serialised
sends are what makes an in-doubt deposit decidable from the agent balance.

Store contract (implemented by the addon over the database):

* ``begin_send(item)``: persist state SENDING and ``attempts = item.attempts + 1``
  and make it durable (commit) before returning.  Return ``False`` to skip the
  item (e.g. no longer sendable, claimed by another worker); any other value
  means "persisted".  The engine then increments ``item.attempts`` itself.
* ``record_result(item, outcome, decision)``: persist the attempt row and the
  new state ``decision.state`` (with ``decision.retry_after`` / reason), durably.

A row found in SENDING outside a run means a worker died mid-request: treat it
as IN_DOUBT (see :func:`recover_stale_state`).
"""

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from .client import Outcome
from .const import (
    AMBIGUOUS,
    APPLIED,
    BACKOFF_BASE,
    BACKOFF_CAP,
    DEFAULT_MAX_ATTEMPTS,
    FAILED,
    IN_DOUBT,
    NOT_APPLIED,
    OK,
    PAID,
    QUEUED,
    RETRYABLE,
    SENDING,
    STATES,
    TERMINAL,
    UNKNOWN,
)
from .errors import AuthError, GatewayError, MpesaError
from .payee import validate_customer_type, whole_amount

_logger = logging.getLogger(__name__)


def backoff_seconds(attempt, base=BACKOFF_BASE, cap=BACKOFF_CAP):
    """Delay before retry number ``attempt`` (1-based): exponential, capped."""
    attempt = max(int(attempt), 1)
    if attempt > 64:
        return float(cap)
    return float(min(base * (2 ** (attempt - 1)), cap))


@dataclass(frozen=True)
class Decision:
    state: str
    retry_after: float | None
    reason: str


def decide(outcome, attempts, max_attempts=DEFAULT_MAX_ATTEMPTS):
    """New state after ``outcome``; ``attempts`` counts this attempt too."""
    kind = outcome.kind
    if kind == OK:
        return Decision(PAID, None, outcome.message or "paid")
    if kind == TERMINAL:
        return Decision(FAILED, None, outcome.message or "refused by the gateway")
    if kind == AMBIGUOUS:
        return Decision(
            IN_DOUBT,
            None,
            f"may have been paid ({outcome.message}); not re-sent automatically, "
            f"reconcile before any retry",
        )
    if kind == RETRYABLE:
        if outcome.systemic:
            # Credentials or URL trouble (never applied by the gateway) is not
            # the payee's fault: keep it queued whatever the attempt count.
            return Decision(QUEUED, backoff_seconds(attempts), outcome.message)
        if attempts >= max_attempts:
            return Decision(
                FAILED,
                None,
                f"gave up after {attempts} attempts; last: {outcome.message}",
            )
        return Decision(QUEUED, backoff_seconds(attempts), outcome.message)
    raise ValueError(f"Unknown outcome kind {kind!r}")


def recover_stale_state(state):
    """State to give a payment found in ``state`` when no run is active."""
    return IN_DOUBT if state == SENDING else state


class BalanceLedger:
    """Expected balance of the sending agent, to settle in-doubt deposits.

    Valid only while this engine is the only thing moving the agent's money and
    sends are serialised.  Once a deposit stays unresolved the ledger is
    *tainted* (that deposit could still land later), and every later
    classification answers "unknown" until :meth:`resync` after reconciliation.
    """

    def __init__(self, expected=None):
        self.expected = expected
        self.tainted = False

    @staticmethod
    def classify(expected_before, actual_now, amount):
        if expected_before is None or actual_now is None:
            return UNKNOWN
        if actual_now == expected_before - amount:
            return APPLIED
        if actual_now == expected_before:
            return NOT_APPLIED
        return UNKNOWN

    def resync(self, actual):
        self.expected = actual
        self.tainted = False

    def note(self, outcome, amount):
        """Track a clear outcome (OK debits the agent; refusals do not)."""
        if self.expected is None:
            return
        if outcome.kind == OK:
            self.expected -= amount
        elif (
            outcome.kind == TERMINAL
            and outcome.http_status is not None
            and (outcome.http_status >= 500)
        ):
            # Debit and credit are not atomic in the gateway: a 5xx business
            # error may follow a debit.  Re-read before trusting the ledger.
            self.expected = None

    def settle(self, actual_now, amount):
        """Classify an in-doubt deposit given the balance read right after it."""
        if self.tainted:
            result = UNKNOWN
        else:
            result = self.classify(self.expected, actual_now, amount)
        if result == APPLIED:
            self.expected = actual_now
        elif result == NOT_APPLIED:
            # It could still be applied late; keep the item in doubt.
            self.expected = actual_now
            self.tainted = True
        else:
            self.expected = actual_now
            self.tainted = True
        return result


@dataclass
class DispatchItem:
    key: object
    amount: int
    account_no: str
    customer_type: str
    attempts: int = 0


class DispatchStore(Protocol):
    def begin_send(self, item: DispatchItem) -> object: ...

    def record_result(
        self, item: DispatchItem, outcome: Outcome, decision: Decision
    ) -> None: ...


@dataclass
class DispatchReport:
    counts: Counter = field(default_factory=Counter)
    stopped_by_deadline: bool = False
    aborted: str | None = None  # systemic trouble that stopped the run
    skipped: int = 0  # begin_send declined
    sent: int = 0  # gateway calls made
    reconciled: int = 0  # ambiguous deposits settled by the balance ledger

    @property
    def processed(self):
        return sum(self.counts.values())

    def as_dict(self):
        data = {state: self.counts.get(state, 0) for state in STATES}
        data.update(
            processed=self.processed,
            skipped=self.skipped,
            sent=self.sent,
            reconciled=self.reconciled,
            stopped_by_deadline=self.stopped_by_deadline,
            aborted=self.aborted,
        )
        return data


def _local_check(item):
    """Outcome for an item that must not reach the gateway, else None."""
    try:
        whole_amount(item.amount)
        validate_customer_type(item.customer_type)
        if not item.account_no:
            raise MpesaError("The payee has no account number.")
    except MpesaError as exc:
        return Outcome(TERMINAL, None, str(exc), 0.0, False)
    return None


def dispatch(
    items,
    client,
    store,
    *,
    max_attempts=DEFAULT_MAX_ATTEMPTS,
    deadline=None,
    clock=time.monotonic,
    ledger=None,
):
    """Send ``items`` one by one; return a :class:`DispatchReport`.

    ``items`` may be a generator (processed lazily).  ``deadline`` is a value of
    ``clock``; no new item is started once it has passed.  With a
    :class:`BalanceLedger` ambiguous deposits are checked against the agent
    balance right away; only a proven debit turns them PAID.
    """
    report = DispatchReport()
    try:
        client.login()
    except (AuthError, GatewayError) as exc:
        report.aborted = str(exc)
        return report
    if ledger is not None and ledger.expected is None:
        try:
            ledger.resync(client.balance())
        except MpesaError as exc:
            # Payments can go on; in-doubt ones just stay for the operator.
            _logger.warning("Agent balance unavailable, ledger disabled: %s", exc)
            ledger.tainted = True
    for item in items:
        if deadline is not None and clock() >= deadline:
            report.stopped_by_deadline = True
            break
        if store.begin_send(item) is False:
            report.skipped += 1
            continue
        item.attempts += 1
        outcome = _local_check(item)
        if outcome is None:
            report.sent += 1
            outcome = client.deposit(item.amount, item.account_no, item.customer_type)
        decision = decide(outcome, item.attempts, max_attempts)
        if ledger is not None:
            decision = _settle_with_ledger(
                client, ledger, item, outcome, decision, report
            )
        store.record_result(item, outcome, decision)
        report.counts[decision.state] += 1
        if outcome.systemic:
            report.aborted = outcome.message
            break
    return report


def _settle_with_ledger(client, ledger, item, outcome, decision, report):
    if outcome.kind == TERMINAL and (outcome.http_status or 0) >= 500:
        return _check_refusal(client, ledger, item, decision)
    if outcome.kind != AMBIGUOUS:
        ledger.note(outcome, item.amount)
        return decision
    try:
        actual = client.balance()
    except MpesaError as exc:
        ledger.tainted = True
        return Decision(
            IN_DOUBT, None, f"{decision.reason}; balance check failed: {exc}"
        )
    result = ledger.settle(actual, item.amount)
    if result == APPLIED:
        report.reconciled += 1
        return Decision(
            PAID,
            None,
            f"{outcome.message}; agent balance fell by exactly {item.amount}",
        )
    return Decision(
        IN_DOUBT, None, f"{decision.reason}; {_BALANCE_CHECK_SAYS.get(result, result)}"
    )


# What an unsettled balance check tells the officer (shown as the reason).
_BALANCE_CHECK_SAYS = {
    NOT_APPLIED: "the agent balance did not fall, so it was probably not paid, but "
    "the gateway may still apply it: reconcile it once it has settled",
    UNKNOWN: "the agent balance moved by another amount (other deposits ran "
    "meanwhile): reconcile it from the gateway's statement",
}


def _check_refusal(client, ledger, item, decision):
    """A 5xx refusal may follow a debit (the gateway is not atomic): verify."""
    try:
        actual = client.balance()
    except MpesaError:
        ledger.expected = None
        return decision
    result = ledger.classify(
        None if ledger.tainted else ledger.expected, actual, item.amount
    )
    ledger.expected = actual
    if result == APPLIED:
        return Decision(
            IN_DOUBT,
            None,
            f"gateway refused ({decision.reason}) but the agent balance fell by "
            f"{item.amount}: debited without credit? Reconcile with the operator.",
        )
    return decision
