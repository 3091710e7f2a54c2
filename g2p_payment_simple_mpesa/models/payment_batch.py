from odoo import api, fields, models

from ..mpesa import const

DISPATCH_STATE_SELECTION = [
    (const.BATCH_DRAFT, "Draft"),
    (const.BATCH_DUE, "Due"),
    (const.BATCH_IN_PROGRESS, "In progress"),
    (const.BATCH_DONE, "Done"),
    (const.BATCH_NEEDS_ATTENTION, "Needs attention"),
]


class G2PPaymentBatch(models.Model):
    _inherit = "g2p.payment.batch"

    mpesa_manager_id = fields.Many2one(
        "g2p.program.payment.manager.simple.mpesa",
        "Mpesa Payment Manager",
        index=True,
        readonly=True,
        copy=False,
        ondelete="restrict",
    )
    mpesa_due = fields.Boolean(
        "Due for Disbursement",
        readonly=True,
        copy=False,
        index=True,
        help="Set when an officer sends the batch (or automatically when the manager "
        "auto-disburses); the scheduled job then pays it.",
    )
    mpesa_due_since = fields.Datetime(readonly=True, copy=False)
    mpesa_dispatch_state = fields.Selection(
        DISPATCH_STATE_SELECTION, "Dispatch State", compute="_compute_mpesa_figures"
    )
    mpesa_queued_count = fields.Integer("Queued", compute="_compute_mpesa_figures")
    mpesa_awaiting_count = fields.Integer(
        "Awaiting Result",
        compute="_compute_mpesa_figures",
        help="Accepted by Daraja; a result callback or a status query settles them.",
    )
    mpesa_paid_count = fields.Integer("Paid", compute="_compute_mpesa_figures")
    mpesa_failed_count = fields.Integer("Failed", compute="_compute_mpesa_figures")
    mpesa_in_doubt_count = fields.Integer("In doubt", compute="_compute_mpesa_figures")

    # Not stored on purpose: payments of one batch are updated one by one by the
    # dispatcher, and a stored aggregate would make every update rewrite (and
    # row-lock) the batch.  One GROUP BY for all batches shown, never the
    # payments themselves: a cycle's list may hold hundreds of batches.
    @api.depends("payment_ids.mpesa_state", "mpesa_due", "batch_has_started")
    def _compute_mpesa_figures(self):
        counts_by_batch = self._mpesa_state_counts()
        for batch in self:
            counts = counts_by_batch.get(batch.id) or dict.fromkeys(const.STATES, 0)
            awaiting = counts.get(const.DARAJA_ACCEPTED, 0)
            # Queued or sending: not accepted by the gateway yet.
            batch.mpesa_queued_count = (
                sum(counts.values())
                - awaiting
                - sum(counts[s] for s in (const.PAID, const.FAILED, const.IN_DOUBT))
            )
            batch.mpesa_awaiting_count = awaiting
            batch.mpesa_paid_count = counts[const.PAID]
            batch.mpesa_failed_count = counts[const.FAILED]
            batch.mpesa_in_doubt_count = counts[const.IN_DOUBT]
            # Voucher (or any other) batches have no dispatch state at all.
            batch.mpesa_dispatch_state = (
                batch._mpesa_dispatch_state_from(counts)
                if batch.mpesa_manager_id
                else False
            )

    def _mpesa_state_counts(self):
        """{batch id: {mpesa state: payments}} of the saved batches in self."""
        ids = [i for i in self.ids if isinstance(i, int)]
        if not ids:
            return {}
        groups = self.env["g2p.payment"]._read_group(
            [("batch_id", "in", ids), ("mpesa_state", "!=", False)],
            ["batch_id", "mpesa_state"],
            ["__count"],
        )
        result = {}
        for batch, state, count in groups:
            result.setdefault(batch.id, dict.fromkeys(const.STATES, 0))[state] = count
        return result

    def _mpesa_dispatch_state_from(self, counts):
        self.ensure_one()
        total = sum(counts.values())
        final = counts[const.PAID] + counts[const.FAILED]
        if counts[const.IN_DOUBT]:
            return const.BATCH_NEEDS_ATTENTION
        if total and final == total:
            if counts[const.FAILED]:
                return const.BATCH_NEEDS_ATTENTION
            return const.BATCH_DONE
        if self.batch_has_started or counts[const.SENDING]:
            return const.BATCH_IN_PROGRESS
        return const.BATCH_DUE if self.mpesa_due else const.BATCH_DRAFT

    def _mpesa_refresh_figures(self):
        """Keep the base flags and statistics consistent with the payments' states."""
        for batch in self:
            payments = batch.payment_ids
            paid = payments.filtered(lambda p: p.mpesa_state == const.PAID)
            failed = payments.filtered(lambda p: p.mpesa_state == const.FAILED)
            sent = payments.filtered(
                lambda p: p.mpesa_state in (const.PAID, const.SENDING, const.IN_DOUBT)
            )
            issued = payments.filtered(lambda p: p.mpesa_state)
            vals = {
                "batch_has_completed": bool(payments)
                and all(p.mpesa_state in const.FINAL_STATES for p in payments),
            }
            if sent or paid or failed:
                vals["batch_has_started"] = True
            # OpenG2P stores these figures, the stand-in computes them: write
            # them only where they are plain stored fields.
            if (
                self._fields["stats_paid_transactions"].store
                and not self._fields["stats_paid_transactions"].compute
            ):
                vals.update(
                    stats_issued_transactions=len(issued),
                    stats_issued_amount=sum(issued.mapped("amount_issued")),
                    stats_sent_transactions=len(sent),
                    stats_sent_amount=sum(sent.mapped("amount_issued")),
                    stats_paid_transactions=len(paid),
                    stats_paid_amount=sum(paid.mapped("amount_paid")),
                    stats_failed_transactions=len(failed),
                    stats_failed_amount=sum(failed.mapped("amount_issued")),
                )
            vals["stats_datetime"] = fields.Datetime.now()
            batch.write(vals)
