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

    voucher_issue = fields.Integer(
        default=1,
        readonly=True,
        help="The issue of its payment's voucher it belongs to.",
    )
    status_idx = fields.Integer(
        "Status List Index", readonly=True, help="The status list entry it carries."
    )

    @api.model_create_multi
    def create(self, vals_list):
        payments = self.env["g2p.payment"].browse(
            [v["payment_id"] for v in vals_list if v.get("payment_id")]
        )
        payments.invalidate_recordset(["voucher_status_idx", "voucher_issue"])
        payments.fetch(["voucher_status_idx", "voucher_issue"])
        for vals in vals_list:
            if vals.get("payment_id"):
                payment = self.env["g2p.payment"].browse(vals["payment_id"])
                vals.setdefault("voucher_issue", payment.voucher_issue or 1)
                vals.setdefault("status_idx", payment.voucher_status_idx or False)
        return super().create(vals_list)

    @api.depends("data")
    def _compute_code_digest(self):
        for code in self:
            code.code_digest = keys.code_digest(code.data) if code.data else False
