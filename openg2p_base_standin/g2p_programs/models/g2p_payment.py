from uuid import uuid4

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .const import PAYMENT_STATES, PAYMENT_STATUSES


class G2PPayment(models.Model):
    _name = "g2p.payment"
    _description = "Payment"
    _order = "id desc"

    name = fields.Char(
        "Internal Reference #",
        default=lambda self: str(uuid4()),
        readonly=True,
        copy=False,
        index=True,
    )
    entitlement_id = fields.Many2one(
        "g2p.entitlement", required=True, index=True, ondelete="restrict"
    )
    cycle_id = fields.Many2one("g2p.cycle", readonly=True, index=True)
    # Stored related fields are precomputed so that issuing thousands of
    # payments is one INSERT, not one UPDATE per payment afterwards.
    program_id = fields.Many2one(
        "g2p.program",
        related="cycle_id.program_id",
        store=True,
        precompute=True,
        readonly=True,
    )
    partner_id = fields.Many2one(
        "res.partner",
        related="entitlement_id.partner_id",
        string="Beneficiary",
        store=True,
        precompute=True,
        readonly=True,
    )
    batch_id = fields.Many2one("g2p.payment.batch", "Payment Batch", index=True)
    state = fields.Selection(
        PAYMENT_STATES, string="Status", required=True, default="issued", index=True
    )
    status = fields.Selection(PAYMENT_STATUSES, string="Payment Status", index=True)
    status_is_final = fields.Boolean("Is final payment status", default=False)
    status_datetime = fields.Datetime()
    # Snapshot of the beneficiary's account when the payment was issued.
    account_number = fields.Char()
    amount_issued = fields.Monetary(required=True, currency_field="currency_id")
    amount_paid = fields.Monetary(currency_field="currency_id")
    payment_fee = fields.Monetary(currency_field="currency_id")
    issuance_date = fields.Datetime(default=fields.Datetime.now)
    payment_datetime = fields.Datetime()
    currency_id = fields.Many2one(
        "res.currency",
        related="cycle_id.program_id.currency_id",
        store=True,
        precompute=True,
        readonly=True,
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_issued(self):
        locked = self.filtered(lambda p: p.state != "issued")
        if locked:
            raise UserError(
                _(
                    "Payments %(names)s were already sent and cannot be deleted.",
                    names=", ".join(locked.mapped("name")),
                )
            )
