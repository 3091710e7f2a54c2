"""The figures of a cycle paid by Mpesa: the queries and how their rows add up.

``models/cycle.py`` runs the two GROUP BY queries and shows the result; the
arithmetic lives here so it is tested without Odoo.  Each payment lands in
exactly one bucket, after what it is waiting for: an officer (not sent yet),
the scheduled job (queued), the gateway's result (awaiting), a person (in
doubt), or nothing (paid, failed).
"""

from . import const

# Payments of the cycles by dispatch state and whether their batch was sent.
PAYMENT_FIGURES_SQL = """
    SELECT p.cycle_id, p.mpesa_state, COALESCE(b.mpesa_due, FALSE),
           count(*), COALESCE(sum(p.amount_issued), 0),
           COALESCE(sum(p.amount_paid), 0)
      FROM g2p_payment p
      LEFT JOIN g2p_payment_batch b ON b.id = p.batch_id
     WHERE p.cycle_id = ANY(%(ids)s)
     GROUP BY 1, 2, 3
"""
# Approved entitlements that Prepare Payments would pay: no payment, or only
# failed ones (the rule of payment_manager_simple_mpesa_prepare).
TO_PREPARE_SQL = """
    SELECT e.cycle_id, count(*)
      FROM g2p_entitlement e
     WHERE e.cycle_id = ANY(%(ids)s)
       AND e.state = %(approved)s
       AND NOT EXISTS (
           SELECT 1 FROM g2p_payment p
            WHERE p.entitlement_id = e.id
              AND p.status IS DISTINCT FROM %(failed)s)
     GROUP BY 1
"""
FIGURES = (
    "payments",
    "unsent",
    "queued",
    "awaiting",
    "paid",
    "failed",
    "in_doubt",
    "to_prepare",
    "amount_total",
    "amount_paid",
    "amount_failed",
)
# Buckets of payments still on their way: a cycle is not closed over them.
OPEN_BUCKETS = ("unsent", "queued", "awaiting", "in_doubt")


def new_figures():
    return dict.fromkeys(FIGURES, 0)


def add_payment_row(figures, state, due, count, issued, paid):
    """Add one row of PAYMENT_FIGURES_SQL to ``figures`` (in place)."""
    figures["payments"] += count
    figures["amount_total"] += issued
    if state == const.PAID:
        figures["paid"] += count
        figures["amount_paid"] += paid or issued
    elif state == const.FAILED:
        figures["failed"] += count
        figures["amount_failed"] += issued
    elif state == const.IN_DOUBT:
        figures["in_doubt"] += count
    elif state == const.DARAJA_ACCEPTED:
        # Daraja took it: sent, its result callback is awaited (not queued).
        figures["awaiting"] += count
    elif not state or (state == const.QUEUED and not due):
        # Prepared but its batch not sent yet (or issued before Mpesa took it).
        figures["unsent"] += count
    else:
        # On its way: queued for the cron, or being sent right now.
        figures["queued"] += count
    return figures


def open_count(figures):
    """Payments not settled yet (not sent, queued, awaiting or in doubt)."""
    return sum(figures[bucket] for bucket in OPEN_BUCKETS)


def amount_remaining(figures):
    """Issued and neither paid nor failed."""
    return max(
        figures["amount_total"] - figures["amount_paid"] - figures["amount_failed"],
        0.0,
    )


def paid_percent(figures):
    total = figures["payments"]
    return 100.0 * figures["paid"] / total if total else 0.0
