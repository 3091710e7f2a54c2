"""Typed results of disbursement passes and their summary (no Odoo)."""

from collections import Counter
from datetime import datetime

from g2p_payment_simple_mpesa.mpesa.const import FAILED, IN_DOUBT, PAID, QUEUED, STATES
from g2p_payment_simple_mpesa.mpesa.dispatch import DispatchReport
from g2p_payment_simple_mpesa.mpesa.run import RunResult, RunSummary

EARLY = datetime(2024, 5, 1, 12, 0)
LATE = datetime(2024, 5, 1, 13, 0)


def test_a_pass_without_an_engine_run_has_no_counts():
    result = RunResult.from_report(None, more=True, retry_at=EARLY)
    assert result == RunResult(counts={}, more=True, retry_at=EARLY)
    assert not result.busy and result.aborted is None


def test_a_pass_takes_counts_and_problem_from_the_report():
    report = DispatchReport(counts=Counter({PAID: 3, IN_DOUBT: 1}), aborted="login")
    result = RunResult.from_report(report, more=False, retry_at=None)
    assert result.counts == {PAID: 3, IN_DOUBT: 1}
    assert result.aborted == "login"
    # A copy: the report may go on counting without changing the result.
    report.counts[PAID] += 1
    assert result.counts[PAID] == 3


def test_summary_adds_counts_of_every_state():
    summary = RunSummary.of(
        [
            RunResult(counts={PAID: 2, FAILED: 1}),
            RunResult(counts={PAID: 1, QUEUED: 4}),
            RunResult(busy=True),
        ]
    )
    assert summary.counts == dict.fromkeys(STATES, 0) | {PAID: 3, FAILED: 1, QUEUED: 4}
    assert summary.busy
    assert summary.problems == ()
    assert not summary.more and summary.retry_at is None


def test_summary_keeps_problems_in_order_and_the_earliest_retry():
    summary = RunSummary.of(
        [
            RunResult(aborted="bad password", retry_at=LATE),
            RunResult(retry_at=EARLY),
            RunResult(aborted="gateway down"),
        ]
    )
    assert summary.problems == ("bad password", "gateway down")
    assert summary.retry_at == EARLY


def test_more_work_when_any_pass_has_more_or_managers_were_left_out():
    assert RunSummary.of([RunResult(), RunResult(more=True)]).more
    assert RunSummary.of([], cut_short=True).more
    assert not RunSummary.of([]).more
    assert RunSummary.of(iter([RunResult(counts={PAID: 1})])).counts[PAID] == 1
