from uuid import uuid4

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .const import ENTITLEMENT_STATES


class G2PEntitlement(models.Model):
    _name = "g2p.entitlement"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Entitlement"
    _order = "id desc"

    name = fields.Char(compute="_compute_name")
    code = fields.Char(
        default=lambda self: uuid4().hex[:12], required=True, readonly=True, copy=False
    )
    partner_id = fields.Many2one(
        "res.partner",
        "Beneficiary",
        required=True,
        index=True,
        domain=[("is_registrant", "=", True)],
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    cycle_id = fields.Many2one(
        "g2p.cycle", required=True, index=True, ondelete="cascade"
    )
    program_id = fields.Many2one(
        "g2p.program", related="cycle_id.program_id", store=True, index=True
    )
    currency_id = fields.Many2one(
        "res.currency", related="cycle_id.program_id.currency_id", readonly=True
    )
    initial_amount = fields.Monetary(required=True, currency_field="currency_id")
    transfer_fee = fields.Monetary(currency_field="currency_id", default=0.0)
    valid_from = fields.Date()
    valid_until = fields.Date()
    date_approved = fields.Date()
    state = fields.Selection(
        ENTITLEMENT_STATES, default="draft", required=True, tracking=True, index=True
    )
    payment_ids = fields.One2many("g2p.payment", "entitlement_id", string="Payments")
    payment_status = fields.Selection(
        [("paid", "Paid"), ("notpaid", "Not Paid")], compute="_compute_payment_status"
    )

    @api.depends("code", "partner_id.name")
    def _compute_name(self):
        for rec in self:
            rec.name = _("Entitlement (%(code)s)", code=rec.code)

    @api.depends("payment_ids.status")
    def _compute_payment_status(self):
        for rec in self:
            paid = any(p.status == "paid" for p in rec.payment_ids)
            rec.payment_status = "paid" if paid else "notpaid"

    def approve_entitlement(self):
        wrong = self.filtered(lambda e: e.state not in ("draft", "pending_validation"))
        if wrong:
            raise UserError(
                _(
                    "Only draft or pending entitlements can be approved; "
                    "%(names)s are not.",
                    names=", ".join(wrong.mapped("name")),
                )
            )
        self.write(
            {"state": "approved", "date_approved": fields.Date.context_today(self)}
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        if self.filtered(lambda e: e.state != "draft"):
            raise UserError(_("Only draft entitlements can be deleted."))
