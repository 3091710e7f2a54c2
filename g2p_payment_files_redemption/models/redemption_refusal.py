from odoo import fields, models


class G2PVoucherRedemptionRefusal(models.Model):
    """A refused check or redemption, kept per point for fraud review."""

    _name = "g2p.voucher.redemption.refusal"
    _description = "Refused Voucher Redemption"
    _order = "id desc"

    point_id = fields.Many2one("g2p.redemption.point", index=True, readonly=True)
    device_id = fields.Many2one("g2p.redemption.device", readonly=True)
    action = fields.Selection(
        [("check", "Check"), ("redeem", "Redeem"), ("sync", "Offline sync")],
        readonly=True,
    )
    error_code = fields.Char(readonly=True, index=True)
    message = fields.Char(readonly=True)
    code_digest = fields.Char("Code (SHA-256)", readonly=True, index=True)
    transaction_id = fields.Char(readonly=True)
    payment_id = fields.Many2one("g2p.payment", readonly=True)
