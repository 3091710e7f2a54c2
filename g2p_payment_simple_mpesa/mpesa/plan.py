"""Planning a Prepare run: batches per tag, and the jobs that create them.

Nothing here imports Odoo.  The manager computes, per batch tag in tag order,
the entitlement ids the tag matches; ``batch_plan`` cuts them into batches of
the tag's size, exactly as a synchronous Prepare does, and ``chunk_plan``
groups whole consecutive batches into the work of one queued job.  Because a
job only ever holds whole batches, running the jobs one by one, in parallel or
more than once makes the same batches as one synchronous run.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedBatch:
    """One future payment batch: its tag (any key) and its entitlement ids."""

    tag: object
    ids: tuple


def batch_plan(tag_groups):
    """Batches of ``tag_groups``: an iterable of ``(tag, max_batch_size, ids)``.

    ``ids`` in the order they are batched; each tag's ids are cut into
    batches of ``max_batch_size`` (the last one holds the rest).  Tags with
    no ids make no batch.
    """
    batches = []
    for tag, size, ids in tag_groups:
        if size < 1:
            raise ValueError(
                f"batch size of tag {tag!r} must be at least 1, not {size}"
            )
        ids = tuple(ids)
        batches += [
            PlannedBatch(tag, ids[start : start + size])
            for start in range(0, len(ids), size)
        ]
    return batches


def group_batches(batches, size):
    """Consecutive ``batches`` grouped into lists of at most ``size`` ids.

    A batch is never split: one larger than ``size`` is a group of its own.
    """
    if size < 1:
        raise ValueError(f"group size must be at least 1, not {size}")
    groups = []
    current, count = [], 0
    for batch in batches:
        if current and count + len(batch.ids) > size:
            groups.append(current)
            current, count = [], 0
        current.append(batch)
        count += len(batch.ids)
    if current:
        groups.append(current)
    return groups


def chunk_plan(batches, chunk_size):
    """The entitlement ids of each job: whole ``batches``, at most ``chunk_size``.

    Returns a list of id tuples, in batch order.
    """
    return [
        tuple(i for batch in part for i in batch.ids)
        for part in group_batches(batches, chunk_size)
    ]
