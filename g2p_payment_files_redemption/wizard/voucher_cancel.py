from odoo import fields, models


class G2PVoucherCancelWizard(models.TransientModel):
    """Cancel lost or stolen vouchers, with the reason (kept on the cycle)."""

    _name = "g2p.voucher.cancel.wizard"
    _description = "Cancel Vouchers"

    payment_ids = fields.Many2many("g2p.payment", string="Payments", required=True)
    reason = fields.Text(required=True)
    reissue = fields.Boolean(
        "Reissue Now", default=True, help="Print a new voucher for each payment."
    )

    def action_apply(self):
        self.ensure_one()
        self.payment_ids._voucher_cancel(self.reason)
        if self.reissue:
            self.payment_ids.action_voucher_reissue()
        return {"type": "ir.actions.act_window_close"}
