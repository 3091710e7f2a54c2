"""A cycle's Mpesa figures: each payment in exactly one bucket, by what it waits for."""

import pytest

from g2p_payment_simple_mpesa.mpesa import const
from g2p_payment_simple_mpesa.mpesa.cycle_figures import (
    FIGURES,
    add_payment_row,
    amount_remaining,
    new_figures,
    open_count,
    paid_percent,
)


@pytest.mark.parametrize(
    ("state", "due", "bucket"),
    [
        (None, False, "unsent"),
        (const.QUEUED, False, "unsent"),
        (const.QUEUED, True, "queued"),
        (const.SENDING, True, "queued"),
        (const.DARAJA_ACCEPTED, True, "awaiting"),
        (const.DARAJA_ACCEPTED, False, "awaiting"),
        (const.IN_DOUBT, True, "in_doubt"),
        (const.PAID, True, "paid"),
        (const.FAILED, True, "failed"),
    ],
)
def test_each_state_lands_in_one_bucket(state, due, bucket):
    figures = add_payment_row(new_figures(), state, due, 4, 400.0, 0.0)
    buckets = ("unsent", "queued", "awaiting", "in_doubt", "paid", "failed")
    assert {k: figures[k] for k in buckets if figures[k]} == {bucket: 4}
    assert set(figures) == set(FIGURES)
    assert figures["payments"] == 4
    assert figures["amount_total"] == 400.0


def test_accepted_payments_are_open_and_remaining_but_not_queued():
    figures = new_figures()
    add_payment_row(figures, const.DARAJA_ACCEPTED, True, 3, 4500.0, 0.0)
    add_payment_row(figures, const.PAID, True, 1, 1500.0, 1500.0)
    add_payment_row(figures, const.FAILED, True, 1, 1500.0, 0.0)
    assert (figures["queued"], figures["awaiting"]) == (0, 3)
    assert open_count(figures) == 3
    assert amount_remaining(figures) == 4500.0
    assert paid_percent(figures) == pytest.approx(20.0)


def test_paid_without_amount_paid_counts_the_issued_amount():
    figures = add_payment_row(new_figures(), const.PAID, True, 2, 200.0, None)
    assert figures["amount_paid"] == 200.0
    assert amount_remaining(figures) == 0.0
    assert open_count(figures) == 0


def test_empty_cycle_has_no_progress():
    assert paid_percent(new_figures()) == 0.0
