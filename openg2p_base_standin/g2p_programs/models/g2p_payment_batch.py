from uuid import uuid4

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class G2PPaymentBatch(models.Model):
    _name = "g2p.payment.batch"
    _description = "Payment Batch"
    _order = "id desc"

    name = fields.Char(
        "Internal Batch Reference #",
        default=lambda self: str(uuid4()),
        readonly=True,
        copy=False,
        index=True,
    )
    cycle_id = fields.Many2one("g2p.cycle", readonly=True, index=True)
    program_id = fields.Many2one(
        "g2p.program", related="cycle_id.program_id", store=True
    )
    external_batch_ref = fields.Char("External Batch Reference #")
    batch_has_started = fields.Boolean()
    batch_has_completed = fields.Boolean()
    payment_ids = fields.Many2many("g2p.payment", string="Payments")
    tag_id = fields.Many2one("g2p.payment.batch.tag")
    stats_datetime = fields.Datetime("Statistics Date/Time")

    # Computed from the payments so they can never drift from them.
    stats_issued_transactions = fields.Integer(
        "Issued Transaction Statistics", compute="_compute_stats"
    )
    stats_issued_amount = fields.Float(
        "Issued Amount Statistics", compute="_compute_stats"
    )
    stats_sent_transactions = fields.Integer(
        "Sent Transactions Statistics", compute="_compute_stats"
    )
    stats_sent_amount = fields.Float("Sent Amount Statistics", compute="_compute_stats")
    stats_paid_transactions = fields.Integer(
        "Paid Transactions Statistics", compute="_compute_stats"
    )
    stats_paid_amount = fields.Float("Paid Amount Statistics", compute="_compute_stats")
    stats_failed_transactions = fields.Integer(
        "Failed Transactions Statistics", compute="_compute_stats"
    )
    stats_failed_amount = fields.Float(
        "Failed Amount Statistics", compute="_compute_stats"
    )

    @api.depends(
        "payment_ids.state",
        "payment_ids.status",
        "payment_ids.amount_issued",
        "payment_ids.amount_paid",
    )
    def _compute_stats(self):
        for batch in self:
            payments = batch.payment_ids
            sent = payments.filtered(lambda p: p.state in ("sent", "reconciled"))
            paid = payments.filtered(lambda p: p.status == "paid")
            failed = payments.filtered(lambda p: p.status == "failed")
            batch.stats_issued_transactions = len(payments)
            batch.stats_issued_amount = sum(payments.mapped("amount_issued"))
            batch.stats_sent_transactions = len(sent)
            batch.stats_sent_amount = sum(sent.mapped("amount_issued"))
            batch.stats_paid_transactions = len(paid)
            batch.stats_paid_amount = sum(paid.mapped("amount_paid"))
            batch.stats_failed_transactions = len(failed)
            batch.stats_failed_amount = sum(failed.mapped("amount_issued"))

    def send_payment(self):
        programs = self.program_id
        if len(programs) != 1:
            raise UserError(_("Send batches of one program at a time."))
        return programs.get_manager(programs.MANAGER_PAYMENT).send_payments(self)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_unstarted(self):
        started = self.filtered("batch_has_started")
        if started:
            raise UserError(
                _(
                    "Batches %(names)s have started and cannot be deleted.",
                    names=", ".join(started.mapped("name")),
                )
            )

    def unlink(self):
        # A batch owns its issued payments (upstream behaviour).
        payments = self.payment_ids
        res = super().unlink()
        payments.unlink()
        return res
