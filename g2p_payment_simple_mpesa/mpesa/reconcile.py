"""Settling one in-doubt deposit from the agent balance: the arithmetic only.

Sends of one agent account are serialised, and every send records the agent
balance expected just before it.  Deposits sent after the in-doubt one move
the balance too, so the balance now, if the in-doubt deposit was *not*
applied, is that recorded figure minus what the later deposits debited; if it
was applied, the balance is lower by exactly its amount.  Nothing here
imports Odoo; the addon reads the payments and the balance and applies the
verdict.
"""

from dataclasses import dataclass
from datetime import timedelta

from .const import FAILED, NOT_APPLIED, NOT_APPLIED_SETTLE_MINUTES, PAID, TOO_EARLY
from .dispatch import BalanceLedger


@dataclass(frozen=True)
class LaterSend:
    """A deposit of the same agent sent after the in-doubt one."""

    state: str  # its dispatch state
    amount_paid: float
    # Whether it may have moved the agent's money; read only when FAILED
    # (a refusal with a 4xx never debits the agent).
    debited: bool = False


def whole(amount):
    """Amounts the gateway moves are whole shillings."""
    return int(round(amount))


def balance_if_not_applied(balance_before, later_sends):
    """Agent balance now if the in-doubt deposit was not applied.

    ``balance_before`` is the balance expected just before its send.  None when
    a later deposit is not settled (in doubt, queued again, failed after
    possibly moving money): then the balance delta cannot tell.
    """
    moving = [s for s in later_sends if s.state != FAILED or s.debited]
    if any(s.state != PAID for s in moving):
        return None
    return balance_before - sum(whole(s.amount_paid) for s in moving)


def settled_after(sent_at, minutes=NOT_APPLIED_SETTLE_MINUTES):
    """When the gateway has certainly finished with a request sent at ``sent_at``."""
    return sent_at + timedelta(minutes=minutes)


@dataclass(frozen=True)
class BalanceVerdict:
    verdict: str  # const.APPLIED, NOT_APPLIED, TOO_EARLY or UNKNOWN
    expected_before: float  # balance now if it was not applied
    actual: float  # balance read now
    amount: int  # the in-doubt deposit, in whole shillings
    settled_after: object  # datetime: when NOT_APPLIED becomes final


def judge(expected_before, actual, amount, sent_at, now):
    """Verdict on one in-doubt deposit of ``amount`` sent at ``sent_at``.

    An unchanged balance is "not applied" only after the settle delay: until
    then the gateway may still be processing a stalled request (TOO_EARLY).
    """
    verdict = BalanceLedger.classify(expected_before, actual, amount)
    settle = settled_after(sent_at) if verdict == NOT_APPLIED else None
    if settle is not None and now < settle:
        verdict = TOO_EARLY
    return BalanceVerdict(verdict, expected_before, actual, amount, settle)
