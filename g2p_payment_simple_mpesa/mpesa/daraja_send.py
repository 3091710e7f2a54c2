"""Sending engine of the Daraja gateway: bounded concurrency over a store.

Each payment's OriginatorConversationID (OCID) is fixed and durable before
its first request, so sending it again is safe: an unanswered request is
retried soon with the same OCID, and Daraja's duplicate answer means
"already accepted".  Hence, unlike ``dispatch`` (simple-mpesa), sends run in
parallel: up to ``concurrency`` worker threads do the HTTP requests only;
the calling thread does every store call (the Odoo cursor is not
thread-safe).  Spike-arrest / quota answers halve the concurrency and pause
new sends (longer per consecutive hit); clean answers add threads back.

Store contract (the calling thread only):

* ``begin_send(item)``: persist SENDING and ``attempts + 1`` (commit);
  ``False`` skips the item.
* ``record_result(item, outcome, decision)``: persist the attempt,
  ``decision.state`` and ``item.attempts`` (a rate-limited answer gives its
  attempt back), now or in a later group: one lost to a crash leaves SENDING
  rows, re-sent safely with their OCID.  A result callback that settled the
  payment meanwhile wins.
"""

import logging
import re
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from .const import (
    AMBIGUOUS,
    DARAJA_ACCEPTED,
    DARAJA_DEFAULT_CONCURRENCY,
    DARAJA_MAX_AMOUNT,
    DARAJA_MIN_AMOUNT,
    DARAJA_MSISDN_PATTERN,
    DARAJA_RATE_PAUSE,
    DARAJA_RATE_PAUSE_CAP,
    DARAJA_RECOVER_AFTER,
    DARAJA_REMARKS_MAX,
    DARAJA_REMARKS_MIN,
    DARAJA_RETRY_BASE,
    DARAJA_RETRY_CAP,
    DEFAULT_MAX_ATTEMPTS,
    FAILED,
    IN_DOUBT,
    OK,
    QUEUED,
    RETRYABLE,
    TERMINAL,
)
from .daraja_client import DarajaOutcome
from .dispatch import Decision, backoff_seconds
from .errors import AuthError, GatewayError, MpesaError
from .payee import whole_amount

_logger = logging.getLogger(__name__)
_MSISDN = re.compile(DARAJA_MSISDN_PATTERN)


@dataclass
class DarajaItem:
    key: object
    ocid: str
    amount: object
    msisdn: str
    remarks: str
    attempts: int = 0
    maybe_sent: bool = False  # an earlier attempt may have reached Daraja


@dataclass
class DarajaReport:
    counts: Counter = field(default_factory=Counter)  # final state -> items
    sent: int = 0  # requests made
    skipped: int = 0  # begin_send declined
    duplicates: int = 0  # answered "already accepted"
    rate_limited: int = 0  # spike arrest / quota answers
    lowest_limit: int = 0  # lowest concurrency the governor went down to
    stopped_by_deadline: bool = False
    aborted: str | None = None  # systemic trouble that stopped the run

    @property
    def processed(self):
        return sum(self.counts.values())

    def as_dict(self):
        return {
            "counts": dict(self.counts),
            "processed": self.processed,
            "sent": self.sent,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "rate_limited": self.rate_limited,
            "lowest_limit": self.lowest_limit,
            "stopped_by_deadline": self.stopped_by_deadline,
            "aborted": self.aborted,
        }


def throttled(outcome):
    """Daraja asked us to slow down (spike arrest / quota), on any endpoint.

    A 429 of the token endpoint (met while renewing the token) comes back as
    a plain RETRYABLE outcome; it is the same request to wait.
    """
    if getattr(outcome, "rate_limited", False):
        return True
    return outcome.kind == RETRYABLE and outcome.http_status == 429


class RateGovernor:
    """How many requests may be in flight now, and when sending may resume."""

    def __init__(
        self,
        limit=DARAJA_DEFAULT_CONCURRENCY,
        clock=time.monotonic,
        pause=DARAJA_RATE_PAUSE,
        pause_cap=DARAJA_RATE_PAUSE_CAP,
        recover_after=DARAJA_RECOVER_AFTER,
    ):
        self.max_limit = max(int(limit), 1)
        self.limit = self.max_limit
        self.lowest = self.max_limit
        self.clock = clock
        self.base_pause = pause
        self.pause_cap = pause_cap
        self.recover_after = recover_after
        self._pause = pause
        self._clean = 0
        self._hit_streak = 0
        self._hit_at = float("-inf")
        self.resume_at = 0.0

    def wait_time(self):
        return max(0.0, self.resume_at - self.clock())

    def note(self, outcome, sent_at=None):
        """Learn from one answer; ``sent_at``: when its request left (clock).

        Answers to requests already in flight when a hit was seen belong to
        that hit: they extend the pause but neither halve again nor lengthen
        it, so one burst answered to N parallel requests is one slow-down.
        """
        if throttled(outcome):
            if sent_at is not None and sent_at < self._hit_at:
                self.resume_at = max(self.resume_at, self._hit_at + self._pause)
                return
            self._hit_at = self.clock()
            self._hit_streak += 1
            self._clean = 0
            self._pause = min(
                self.pause_cap, self.base_pause * 2 ** (self._hit_streak - 1)
            )
            self.limit = max(1, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)
            self.resume_at = max(self.resume_at, self.clock() + self._pause)
            return
        self._hit_streak = 0
        self._clean += 1
        if self._clean >= self.recover_after and self.limit < self.max_limit:
            self.limit += 1
            self._clean = 0


def decide(outcome, item, max_attempts=DEFAULT_MAX_ATTEMPTS, pause=0.0):
    """New state of ``item`` after ``outcome`` (``item.attempts`` counts it)."""
    kind = outcome.kind
    if kind == OK:
        if getattr(outcome, "duplicate", False):
            return Decision(DARAJA_ACCEPTED, None, outcome.message)
        return Decision(
            DARAJA_ACCEPTED, None, "accepted by Daraja; awaiting the result"
        )
    if kind == TERMINAL:
        return Decision(FAILED, None, outcome.message or "refused by Daraja")
    if kind not in (RETRYABLE, AMBIGUOUS):
        raise ValueError(f"Unknown outcome kind {kind!r}")
    if throttled(outcome):
        # Certainly not applied and not the payee's fault: never gives up.
        return Decision(QUEUED, pause, outcome.message)
    if outcome.systemic:
        return Decision(QUEUED, _retry_after(item.attempts), outcome.message)
    if item.attempts >= max_attempts:
        if item.maybe_sent or kind == AMBIGUOUS:
            return Decision(
                IN_DOUBT,
                None,
                f"no clear answer after {item.attempts} attempts (last: "
                f"{outcome.message}); a Transaction Status query will settle it",
            )
        return Decision(
            FAILED,
            None,
            f"gave up after {item.attempts} attempts; last: {outcome.message}",
        )
    what = (
        "may have been accepted; sent again with the same OCID"
        if kind == AMBIGUOUS
        else "not sent"
    )
    return Decision(QUEUED, _retry_after(item.attempts), f"{outcome.message} ({what})")


def decide_for(outcome, item, max_attempts=DEFAULT_MAX_ATTEMPTS, pause=0.0):
    """:func:`decide`, then what the item's earlier attempts add.

    After a request that may have been accepted, a refusal (Daraja's or a
    local check, e.g. a payee edited meanwhile) says nothing about that
    earlier request, which may have paid: in doubt, so a Transaction Status
    query settles it, never "failed" (which invites paying again).
    """
    decision = decide(outcome, item, max_attempts, pause)
    if decision.state == FAILED and item.maybe_sent:
        return Decision(
            IN_DOUBT,
            None,
            f"refused ({decision.reason}) after an earlier request that may have "
            f"been accepted; a Transaction Status query will settle it",
        )
    return decision


def _retry_after(attempts):
    return backoff_seconds(attempts, base=DARAJA_RETRY_BASE, cap=DARAJA_RETRY_CAP)


def local_problem(item):
    """Why ``item`` must not reach Daraja, else None."""
    try:
        amount = whole_amount(item.amount, minimum=None)
    except MpesaError as exc:
        return str(exc)
    if not DARAJA_MIN_AMOUNT <= amount <= DARAJA_MAX_AMOUNT:
        return (
            f"Amount {amount} is outside what Daraja B2C pays "
            f"({DARAJA_MIN_AMOUNT} to {DARAJA_MAX_AMOUNT} KES)."
        )
    if not _MSISDN.match(item.msisdn or ""):
        return (
            f"Phone number {item.msisdn!r} is not a Kenyan mobile number in the "
            f"form 2547XXXXXXXX or 2541XXXXXXXX."
        )
    if not item.ocid:
        return "The payment has no OriginatorConversationID."
    if not DARAJA_REMARKS_MIN <= len(item.remarks or "") <= DARAJA_REMARKS_MAX:
        return (
            f"Remarks must be {DARAJA_REMARKS_MIN} to {DARAJA_REMARKS_MAX} characters."
        )
    return None


def _crash_outcome(exc):
    # client.pay never raises for I/O; anything else is a bug: the request
    # may have left, so it is treated like a timeout (safe with the OCID).
    return DarajaOutcome(
        AMBIGUOUS, None, f"client error: {type(exc).__name__}", 0.0, True
    )


def send(
    items,
    client,
    store,
    *,
    concurrency=DARAJA_DEFAULT_CONCURRENCY,
    max_attempts=DEFAULT_MAX_ATTEMPTS,
    deadline=None,
    clock=time.monotonic,
    sleep=time.sleep,
    governor=None,
):
    """Send ``items`` (an iterable, consumed lazily); return a :class:`DarajaReport`."""
    report = DarajaReport()
    governor = governor or RateGovernor(concurrency, clock)
    try:
        client.token()
    except AuthError as exc:
        report.aborted = str(exc)
        return report
    except GatewayError as exc:
        if exc.http_status != 429:
            report.aborted = str(exc)
            return report
        # Spike arrest on the token endpoint: wait as for any 429; the first
        # request asks for the token again.
        report.rate_limited += 1
        governor.note(DarajaOutcome(RETRYABLE, 429, str(exc), 0.0, False))
    source = iter(items)
    again = deque()  # rate-limited items, sent again in this run
    in_flight = {}
    exhausted = False

    def finish(item, outcome, sent_at=None):
        governor.note(outcome, sent_at)
        decision = decide_for(outcome, item, max_attempts, governor.wait_time())
        limited = throttled(outcome)
        if limited:
            item.attempts -= 1  # not an attempt: Daraja asked to wait
        store.record_result(item, outcome, decision)
        if outcome.kind == AMBIGUOUS:
            item.maybe_sent = True
        if getattr(outcome, "duplicate", False):
            report.duplicates += 1
        if limited:
            report.rate_limited += 1
            again.append(item)
        else:
            report.counts[decision.state] += 1
        if outcome.systemic:
            report.aborted = outcome.message

    def past_deadline():
        return deadline is not None and clock() >= deadline

    with ThreadPoolExecutor(
        max_workers=governor.max_limit, thread_name_prefix="daraja-send"
    ) as pool:
        while True:
            while not report.aborted and len(in_flight) < governor.limit:
                if past_deadline():
                    report.stopped_by_deadline = bool(again) or not exhausted
                    break
                pause = governor.wait_time()
                if pause > 0:
                    if in_flight:
                        break  # collect answers during the pause
                    sleep(
                        pause
                        if deadline is None
                        else min(pause, max(deadline - clock(), 0))
                    )
                    continue
                if again:
                    item = again.popleft()
                else:
                    item = next(source, None) if not exhausted else None
                    if item is None:
                        exhausted = True
                        break
                if store.begin_send(item) is False:
                    report.skipped += 1
                    continue
                item.attempts += 1
                problem = local_problem(item)
                if problem is not None:
                    finish(item, DarajaOutcome(TERMINAL, None, problem, 0.0, False))
                    continue
                report.sent += 1
                future = pool.submit(
                    client.pay, item.ocid, item.amount, item.msisdn, item.remarks
                )
                in_flight[future] = (item, governor.clock())
            if not in_flight:
                if (
                    report.aborted
                    or report.stopped_by_deadline
                    or (exhausted and not again)
                ):
                    break
                continue
            done, _pending = wait(
                list(in_flight),
                timeout=governor.wait_time() or None,
                return_when=FIRST_COMPLETED,
            )
            for future in done:
                item, sent_at = in_flight.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # pylint: disable=broad-except
                    _logger.exception("Daraja request of %s crashed", item.key)
                    outcome = _crash_outcome(exc)
                finish(item, outcome, sent_at)
    # Rate-limited items not sent again before the deadline stay queued.
    if again:
        report.counts[QUEUED] += len(again)
    report.lowest_limit = governor.lowest
    return report


def query(items, request, on_answer, *, concurrency=DARAJA_DEFAULT_CONCURRENCY):
    """Run ``request(item)`` in worker threads; ``on_answer(item, outcome)`` here.

    For Transaction Status queries: no state change before the request (a
    query changes nothing at the gateway), answers handled in this thread.
    """
    items = list(items)
    if not items:
        return 0
    with ThreadPoolExecutor(
        max_workers=max(1, min(concurrency, len(items))),
        thread_name_prefix="daraja-query",
    ) as pool:
        futures = {pool.submit(request, item): item for item in items}
        for future in list(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # pylint: disable=broad-except
                outcome = _crash_outcome(exc)
            on_answer(futures[future], outcome)
    return len(items)
