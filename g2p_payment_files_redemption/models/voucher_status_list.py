"""The status list of every voucher, signed and served next to the JWKS.

An offline verifier that downloaded it (and the JWKS) refuses vouchers
redeemed or cancelled before then.  One bit per voucher: a list of 1,000,000
vouchers is at most 125 KB before compression.
"""

import hashlib
import time

from odoo import api, models

from ..redemption import const, status_list

PAYMENT_FAILED = "failed"


class G2PVoucherStatusList(models.AbstractModel):
    _name = "g2p.voucher.status.list"
    _description = "Voucher Status List"

    @api.model
    def _uri(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        endpoint = self.env.ref(
            "g2p_payment_files.fastapi_endpoint_data", raise_if_not_found=False
        )
        root = endpoint.sudo().root_path if endpoint else "/apiv1payment"
        return f"{base.rstrip('/')}{root}/statuslists/{status_list.LIST_ID}"

    @api.model
    def _lst(self):
        """(``lst``, entries) of the current list, straight from SQL."""
        cr = self.env.cr
        cr.execute("SELECT COALESCE(MAX(voucher_status_idx), 0) FROM g2p_payment")
        size = cr.fetchone()[0] + 1
        # Invalid: the current voucher of a payment redeemed, failed or whose
        # voucher is cancelled, and every voucher a reissue replaced.
        cr.execute(
            """
            SELECT p.voucher_status_idx FROM g2p_payment p
             WHERE p.voucher_status_idx IS NOT NULL
               AND (p.status = %s OR p.voucher_cancelled OR EXISTS (
                    SELECT 1 FROM g2p_voucher_redemption r
                     WHERE r.payment_id = p.id AND r.state = %s))
            UNION
            SELECT q.status_idx FROM g2p_payment_file_qrcode q
              JOIN g2p_payment p ON p.id = q.payment_id
             WHERE p.voucher_issue > 1 AND q.status_idx IS NOT NULL
               AND q.voucher_issue < p.voucher_issue
            """,
            (PAYMENT_FAILED, const.REDEMPTION_ACCEPTED),
        )
        return status_list.encode((row[0] for row in cr.fetchall()), size), size

    @api.model
    def _signing_key(self):
        return (
            self.env["g2p.crypto.key.set"]
            .sudo()
            .search(
                [("status", "=", "active"), ("use", "=", "sig")],
                order="id desc",
                limit=1,
            )
        )

    @api.model
    def _token(self):
        """(signed statuslist+jwt, ETag); the ETag follows the list's content."""
        lst, _size = self._lst()
        key = self._signing_key()
        claims = status_list.claims(self._uri(), lst, time.time())
        token = key._get_signer().jwt(claims, typ=status_list.JWT_TYPE)
        etag = '"%s"' % hashlib.sha256(f"{key.name}:{lst}".encode()).hexdigest()[:32]
        return token, etag
