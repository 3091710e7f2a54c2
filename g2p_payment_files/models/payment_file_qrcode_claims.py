from odoo import api, fields, models

from ..vouchers.claims import claim_datetime, read_claims
from ..vouchers.errors import PayloadError


class G2PPaymentFileQRCodeClaims(models.Model):
    """The signed dates of a code, read back from its payload.

    A voucher prints them from here (``qrcodes.get_by_name('qr').expires_at``),
    so the dates on paper are the ones the signature covers.
    """

    _inherit = "g2p.payment.file.qrcode"

    issued_at = fields.Datetime(
        string="Signed At",
        compute="_compute_signed_dates",
        help="The code's iat claim (JWT/CWT codes only).",
    )
    expires_at = fields.Datetime(
        compute="_compute_signed_dates",
        help="The code's exp claim: verifiers refuse the voucher after it "
        "(JWT/CWT codes with a validity only).",
    )

    @api.depends("data", "qrcode_config_id.data_type", "qrcode_config_id.cwt_prefix")
    def _compute_signed_dates(self):
        for rec in self:
            claims = rec.signed_claims()
            rec.issued_at = claim_datetime(claims, "iat") or False
            rec.expires_at = claim_datetime(claims, "exp") or False

    def signed_claims(self):
        """The claims this code's JWT/CWT carries (not verified); {} otherwise."""
        self.ensure_one()
        config = self.qrcode_config_id
        if not self.data:
            return {}
        try:
            return read_claims(config.data_type, self.data, config.cwt_prefix or "")
        except PayloadError:
            return {}
