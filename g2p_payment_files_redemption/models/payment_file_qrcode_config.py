from odoo import models

from ..redemption import status_list


class G2PPaymentFileQRCodeConfig(models.Model):
    """Signed voucher codes carry their entry in the published status list."""

    _inherit = "g2p.payment.file.qrcode.config"

    def _extra_claims(self, records):
        claims = super()._extra_claims(records)
        if records._name != "g2p.payment" or not records:
            return claims
        uri = self.env["g2p.voucher.status.list"]._uri()
        for payment_id, index in records._voucher_status_indexes().items():
            claims.setdefault(payment_id, {}).update(status_list.reference(uri, index))
        return claims
