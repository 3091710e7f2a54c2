"""Planning a Prepare: batches per tag, and chunk jobs of whole batches."""

import pytest

from g2p_payment_simple_mpesa.mpesa.plan import (
    PlannedBatch,
    batch_plan,
    chunk_plan,
    group_batches,
)


def test_each_tag_is_cut_into_batches_of_its_size_in_order():
    batches = batch_plan([("large", 2, [1, 4, 7]), ("rest", 3, [2, 3, 5, 6])])
    assert batches == [
        PlannedBatch("large", (1, 4)),
        PlannedBatch("large", (7,)),
        PlannedBatch("rest", (2, 3, 5)),
        PlannedBatch("rest", (6,)),
    ]


def test_a_tag_matching_nobody_makes_no_batch():
    assert batch_plan([("empty", 5, []), ("rest", 5, [9])]) == [
        PlannedBatch("rest", (9,))
    ]


def test_batch_size_below_one_is_refused_naming_the_tag():
    with pytest.raises(ValueError, match="'bad'"):
        batch_plan([("bad", 0, [1])])


def test_chunks_hold_whole_consecutive_batches_up_to_the_size():
    batches = batch_plan([("a", 2, range(1, 8)), ("b", 3, range(10, 14))])
    # a: (1,2) (3,4) (5,6) (7,) | b: (10,11,12) (13,)
    assert chunk_plan(batches, 5) == [(1, 2, 3, 4), (5, 6, 7), (10, 11, 12, 13)]


def test_a_batch_larger_than_the_chunk_is_a_chunk_of_its_own():
    batches = batch_plan([("big", 10, range(25))])
    assert [len(chunk) for chunk in chunk_plan(batches, 4)] == [10, 10, 5]


def test_every_id_is_in_exactly_one_chunk_and_no_batch_is_split():
    ids = list(range(1000))
    batches = batch_plan([("odd", 7, ids[1::2]), ("even", 11, ids[::2])])
    groups = group_batches(batches, 60)
    chunks = chunk_plan(batches, 60)
    assert sorted(i for chunk in chunks for i in chunk) == ids
    assert [b for group in groups for b in group] == batches
    assert all(sum(len(b.ids) for b in group) <= 60 for group in groups)
    assert [tuple(i for b in group for i in b.ids) for group in groups] == chunks


def test_chunk_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        chunk_plan([PlannedBatch("a", (1,))], 0)


def test_nothing_to_plan_makes_no_chunk():
    assert chunk_plan(batch_plan([]), 10) == []
