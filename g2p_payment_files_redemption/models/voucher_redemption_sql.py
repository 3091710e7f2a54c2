"""What a redemption must know about a scanned code, each in one SQL query.

Devices call these on every scan: the ORM's way (a search, then fetching the
code row, its payment, its config and the point's programs field by field) is
half the cost of a redemption.  The queries read committed rows and what this
transaction flushed, so pending ORM writes are flushed first (a sync batch
may pay the same payment twice over).  They read stored columns only: the
real base keeps a payment's program, beneficiary and currency as related
fields, not columns (the cycle and the entitlement hold them).
"""

from collections import namedtuple
from datetime import timedelta

from odoo import api, models

from ..redemption import const, keys

# One voucher code row and what decides whether it can be paid at a point.
Found = namedtuple(
    "Found",
    "voucher payment issue current_issue cancelled status expires serves "
    "amount entitlement_id",
)

# A ledger row met by a redemption: the device's own earlier one (a replay)
# or the payment's accepted one (already redeemed).
Met = namedtuple("Met", "record mine digest")


class G2PVoucherRedemptionSql(models.AbstractModel):
    _inherit = "g2p.voucher.redemption.service"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _lookup_voucher(self, device, code, transaction_id=None):
        """(the newest code row issued as ``code`` or None, the device's
        earlier row for ``transaction_id`` as a ``Met`` or None): one query."""
        self.env.flush_all()
        point = self.env["g2p.redemption.point"]._fields["program_ids"]
        self.env.cr.execute(
            f"""
            SELECT rp.id, rp.request_digest, v.*
              FROM (SELECT 1) one
              LEFT JOIN LATERAL (
                   SELECT id, request_digest FROM g2p_voucher_redemption
                    WHERE device_id = %(device)s AND transaction_id = %(txn)s
                   ) rp ON TRUE
              LEFT JOIN LATERAL (
                   SELECT q.id, q.payment_id, COALESCE(q.voucher_issue, 1),
                          COALESCE(p.voucher_issue, 1),
                          COALESCE(p.voucher_cancelled, FALSE),
                          p.status, q.create_date, c.validity_days,
                          p.amount_issued, p.entitlement_id,
                          EXISTS (SELECT 1 FROM "{point.relation}" r
                                   WHERE r."{point.column1}" = %(point)s
                                     AND r."{point.column2}" = cy.program_id)
                     FROM g2p_payment_file_qrcode q
                     JOIN g2p_payment p ON p.id = q.payment_id
                     JOIN g2p_entitlement e ON e.id = p.entitlement_id
                     JOIN g2p_cycle cy ON cy.id = COALESCE(p.cycle_id, e.cycle_id)
                     LEFT JOIN g2p_payment_file_qrcode_config c
                            ON c.id = q.qrcode_config_id
                    WHERE q.code_digest = %(digest)s
                    ORDER BY q.id DESC
                    LIMIT 1
                   ) v ON TRUE
            """,  # noqa: S608 (the names are the ORM's, the values parameters)
            {
                "device": device.id,
                "txn": transaction_id,
                "point": device.point_id.id,
                "digest": keys.code_digest(code),
            },
        )
        (earlier, digest, vid, pid, issue, current, cancelled, status, *rest) = (
            self.env.cr.fetchone()
        )
        created, days, amount, entitlement, serves = rest
        met = (
            Met(self.env["g2p.voucher.redemption"].sudo().browse(earlier), True, digest)
            if earlier
            else None
        )
        if not vid:
            return None, met
        found = Found(
            voucher=self.env["g2p.payment.file.qrcode"].sudo().browse(vid),
            payment=self.env["g2p.payment"].sudo().browse(pid),
            issue=issue,
            current_issue=current,
            cancelled=cancelled,
            status=status,
            expires=created + timedelta(days=days) if days else None,
            serves=serves,
            amount=amount,
            entitlement_id=entitlement,
        )
        return found, met

    @api.model
    def _ledger_met(self, device, transaction_id, payment=None, lock=False):
        """The device's row for ``transaction_id``, else the payment's accepted one.

        One query for both questions a redemption asks; with ``lock``, the same
        query first locks the payment's row, so that concurrent redemptions of
        one payment take turns (the select list always takes the lock).
        """
        self.env.cr.execute(
            """
            WITH locked AS (
                SELECT id FROM g2p_payment
                 WHERE id = %(payment)s AND %(lock)s
                   FOR UPDATE
            )
            SELECT (SELECT count(*) FROM locked), m.*
              FROM (SELECT 1) one
              LEFT JOIN LATERAL (
                   SELECT id,
                          COALESCE(device_id = %(device)s
                                   AND transaction_id = %(txn)s, FALSE),
                          request_digest
                     FROM g2p_voucher_redemption
                    WHERE (device_id = %(device)s AND transaction_id = %(txn)s)
                       OR (payment_id = %(payment)s AND state = %(accepted)s)
                    ORDER BY 2 DESC
                    LIMIT 1
                   ) m ON TRUE
            """,
            {
                "device": device.id,
                "txn": transaction_id,
                "payment": payment.id if payment else None,
                "accepted": const.REDEMPTION_ACCEPTED,
                "lock": bool(lock),
            },
        )
        _locked, rid, mine, digest = self.env.cr.fetchone()
        if not rid:
            return None
        return Met(self.env["g2p.voucher.redemption"].sudo().browse(rid), mine, digest)
