"""What the officer sees on a voucher cycle: who was actually paid.

Counted in SQL on display (one query per cycle): a national cycle has a
million vouchers, and these figures must stay true at every redemption.
"""

from odoo import api, fields, models

from ..redemption import const

FIGURES_SQL = """
WITH current AS (
    SELECT p.id, p.amount_issued, p.status, p.voucher_cancelled,
           EXISTS (SELECT 1 FROM g2p_voucher_redemption r
                    WHERE r.payment_id = p.id AND r.state = %(accepted)s) AS redeemed,
           EXISTS (SELECT 1 FROM g2p_payment_file_qrcode q
                     JOIN g2p_payment_file_qrcode_config c ON c.id = q.qrcode_config_id
                    WHERE q.payment_id = p.id AND q.voucher_issue = p.voucher_issue
                      AND c.validity_days > 0
                      AND q.create_date + c.validity_days * interval '1 day' < now()
                  ) AS expired
      FROM g2p_payment p
     WHERE p.cycle_id = %(cycle)s
       AND EXISTS (SELECT 1 FROM g2p_payment_file_qrcode q WHERE q.payment_id = p.id)
)
SELECT count(*),
       count(*) FILTER (WHERE redeemed),
       COALESCE(sum(amount_issued) FILTER (WHERE redeemed), 0),
       count(*) FILTER (
           WHERE NOT redeemed AND (voucher_cancelled OR status = 'failed')),
       count(*) FILTER (WHERE NOT redeemed AND expired AND NOT voucher_cancelled),
       (SELECT count(*) FROM g2p_voucher_redemption r
          JOIN current c ON c.id = r.payment_id WHERE r.state = %(disputed)s)
  FROM current
"""


class G2PCycle(models.Model):
    _inherit = "g2p.cycle"

    voucher_issued_count = fields.Integer(
        "Vouchers", compute="_compute_voucher_figures"
    )
    voucher_redeemed_count = fields.Integer(
        "Redeemed", compute="_compute_voucher_figures"
    )
    voucher_redeemed_amount = fields.Float(
        "Amount Redeemed", compute="_compute_voucher_figures"
    )
    voucher_cancelled_count = fields.Integer(
        "Cancelled", compute="_compute_voucher_figures"
    )
    voucher_expired_count = fields.Integer(
        "Expired", compute="_compute_voucher_figures"
    )
    voucher_disputed_count = fields.Integer(
        "Disputed", compute="_compute_voucher_figures"
    )
    voucher_redeemed_percent = fields.Float(
        "Redeemed (%)", compute="_compute_voucher_figures"
    )

    @api.depends_context("uid")
    def _compute_voucher_figures(self):
        self.env["g2p.payment"].flush_model()
        self.env["g2p.voucher.redemption"].flush_model()
        for cycle in self:
            row = (0, 0, 0.0, 0, 0, 0)
            if cycle.id:
                self.env.cr.execute(
                    FIGURES_SQL,
                    {
                        "cycle": cycle.id,
                        "accepted": const.REDEMPTION_ACCEPTED,
                        "disputed": const.REDEMPTION_DISPUTED,
                    },
                )
                row = self.env.cr.fetchone()
            issued, redeemed, amount, cancelled, expired, disputed = row
            cycle.voucher_issued_count = issued
            cycle.voucher_redeemed_count = redeemed
            cycle.voucher_redeemed_amount = amount
            cycle.voucher_cancelled_count = cancelled
            cycle.voucher_expired_count = expired
            cycle.voucher_disputed_count = disputed
            cycle.voucher_redeemed_percent = (
                100.0 * redeemed / issued if issued else 0.0
            )

    def action_view_voucher_disputes(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": "Redemption Disputes",
            "res_model": "g2p.voucher.redemption",
            "view_mode": "tree,form",
            "domain": [
                ("cycle_id", "=", self.id),
                ("state", "=", const.REDEMPTION_DISPUTED),
            ],
        }
