from odoo import api, fields, models

from ..redemption import keys


class G2PPaymentFileQRCode(models.Model):
    """A voucher code, found again from what a redemption point scans."""

    _inherit = "g2p.payment.file.qrcode"

    # Stored and precomputed: part of the INSERT of each chunk's codes; codes
    # issued before this addon get theirs when it is installed.
    code_digest = fields.Char(
        compute="_compute_code_digest", store=True, precompute=True, index=True
    )

    @api.depends("data")
    def _compute_code_digest(self):
        for code in self:
            code.code_digest = keys.code_digest(code.data) if code.data else False
