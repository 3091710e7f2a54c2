"""Typed result of one bounded disbursement pass, and of several together.

A pass is what ``_mpesa_disburse`` does for one manager (from the cron or the
Disburse Now button).  Nothing here imports Odoo.
"""

from dataclasses import dataclass, field
from datetime import datetime

from .const import STATES


@dataclass(frozen=True)
class RunResult:
    """What one pass of one manager did and what is left."""

    counts: dict = field(default_factory=dict)  # payment state -> payments
    busy: bool = False  # another worker holds the agent lock
    aborted: str | None = None  # systemic problem that stopped the pass
    more: bool = False  # claimable work is left: run again right away
    retry_at: datetime | None = None  # earliest scheduled retry, if any

    @classmethod
    def from_report(cls, report, more=False, retry_at=None):
        """Result of a pass whose engine run produced ``report`` (None: no run)."""
        if report is None:
            return cls(more=more, retry_at=retry_at)
        return cls(
            counts=dict(report.counts),
            aborted=report.aborted,
            more=more,
            retry_at=retry_at,
        )


@dataclass(frozen=True)
class RunSummary:
    """Several passes together (one per manager)."""

    counts: dict  # every state of const.STATES -> payments
    busy: bool
    problems: tuple
    more: bool
    retry_at: datetime | None

    @classmethod
    def of(cls, results, cut_short=False):
        """Summary of ``results``; ``cut_short``: managers were left unvisited."""
        results = list(results)
        retries = [r.retry_at for r in results if r.retry_at]
        return cls(
            counts={s: sum(r.counts.get(s, 0) for r in results) for s in STATES},
            busy=any(r.busy for r in results),
            problems=tuple(r.aborted for r in results if r.aborted),
            more=cut_short or any(r.more for r in results),
            retry_at=min(retries) if retries else None,
        )
