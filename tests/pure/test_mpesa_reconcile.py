"""Balance arithmetic that settles an in-doubt deposit (no Odoo, no gateway)."""

from datetime import datetime, timedelta

import pytest

from g2p_payment_simple_mpesa.mpesa.const import (
    APPLIED,
    FAILED,
    IN_DOUBT,
    NOT_APPLIED,
    NOT_APPLIED_SETTLE_MINUTES,
    PAID,
    QUEUED,
    SENDING,
    TOO_EARLY,
    UNKNOWN,
)
from g2p_payment_simple_mpesa.mpesa.reconcile import (
    LaterSend,
    balance_if_not_applied,
    judge,
    settled_after,
    whole,
)

SENT_AT = datetime(2024, 5, 1, 12, 0, 0)
LONG_AFTER = SENT_AT + timedelta(minutes=NOT_APPLIED_SETTLE_MINUTES, seconds=1)


def test_without_later_sends_the_balance_is_the_one_before():
    assert balance_if_not_applied(10_000.0, []) == 10_000.0


def test_later_paid_deposits_are_subtracted_in_whole_shillings():
    later = [LaterSend(PAID, 150.4), LaterSend(PAID, 99.6)]
    assert balance_if_not_applied(10_000.0, later) == 10_000.0 - 150 - 100


def test_later_refusal_that_never_debited_is_ignored():
    later = [LaterSend(PAID, 100.0), LaterSend(FAILED, 0.0, debited=False)]
    assert balance_if_not_applied(5_000.0, later) == 4_900.0


@pytest.mark.parametrize("state", [IN_DOUBT, QUEUED, SENDING])
def test_later_unsettled_deposit_makes_the_delta_useless(state):
    later = [LaterSend(PAID, 100.0), LaterSend(state, 0.0)]
    assert balance_if_not_applied(5_000.0, later) is None


def test_later_failure_that_may_have_debited_makes_the_delta_useless():
    later = [LaterSend(FAILED, 0.0, debited=True)]
    assert balance_if_not_applied(5_000.0, later) is None


def test_whole_rounds_to_shillings():
    assert whole(149.5) == 150 and whole(150.49) == 150 and whole(0) == 0


def test_balance_lower_by_exactly_the_amount_means_applied():
    check = judge(5_000.0, 4_850.0, 150, SENT_AT, SENT_AT)
    assert check.verdict == APPLIED
    assert check.settled_after is None
    assert check.expected_before == 5_000.0
    assert (check.actual, check.amount) == (4_850.0, 150)


def test_unchanged_balance_is_not_applied_only_after_the_settle_delay():
    early = judge(5_000.0, 5_000.0, 150, SENT_AT, SENT_AT + timedelta(minutes=1))
    assert early.verdict == TOO_EARLY
    assert early.settled_after == SENT_AT + timedelta(
        minutes=NOT_APPLIED_SETTLE_MINUTES
    )
    late = judge(5_000.0, 5_000.0, 150, SENT_AT, LONG_AFTER)
    assert late.verdict == NOT_APPLIED
    assert late.settled_after == early.settled_after


def test_exactly_at_the_settle_time_it_is_decided():
    at = settled_after(SENT_AT)
    assert judge(5_000.0, 5_000.0, 150, SENT_AT, at).verdict == NOT_APPLIED


@pytest.mark.parametrize("actual", [4_900.0, 5_150.0, 4_849.0, None])
def test_any_other_balance_is_unknown(actual):
    assert judge(5_000.0, actual, 150, SENT_AT, LONG_AFTER).verdict == UNKNOWN


def test_settled_after_takes_other_delays():
    assert settled_after(SENT_AT, minutes=3) == SENT_AT + timedelta(minutes=3)
