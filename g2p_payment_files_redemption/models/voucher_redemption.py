"""The redemption ledger: one accepted row per paid voucher payment."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..redemption import const

DISPUTE_DECIDERS = (
    "g2p_programs.g2p_finance_validator",
    "g2p_registry_base.group_g2p_admin",
)


class G2PVoucherRedemption(models.Model):
    _name = "g2p.voucher.redemption"
    _inherit = ["mail.thread"]
    _description = "Voucher Redemption"
    _order = "redeemed_at desc, id desc"
    _rec_name = "transaction_id"

    voucher_id = fields.Many2one(
        "g2p.payment.file.qrcode", "Voucher Code", readonly=True, ondelete="restrict"
    )
    payment_id = fields.Many2one(
        "g2p.payment", required=True, readonly=True, index=True, ondelete="restrict"
    )
    partner_id = fields.Many2one(related="payment_id.partner_id", string="Beneficiary")
    program_id = fields.Many2one(related="payment_id.program_id")
    cycle_id = fields.Many2one(related="payment_id.cycle_id")
    point_id = fields.Many2one(
        "g2p.redemption.point", required=True, readonly=True, index=True
    )
    device_id = fields.Many2one("g2p.redemption.device", required=True, readonly=True)
    user_id = fields.Many2one("res.users", "Recorded By", readonly=True)
    transaction_id = fields.Char(
        required=True, readonly=True, help="The device's own id of this redemption."
    )
    request_digest = fields.Char(readonly=True)
    amount = fields.Float(readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    redeemed_at = fields.Datetime(required=True, readonly=True, index=True)
    state = fields.Selection(
        [
            (const.REDEMPTION_ACCEPTED, "Accepted"),
            (const.REDEMPTION_DISPUTED, "Disputed"),
            (const.REDEMPTION_REJECTED, "Rejected"),
        ],
        required=True,
        default=const.REDEMPTION_ACCEPTED,
        readonly=True,
        tracking=True,
    )
    mode = fields.Selection(
        [(const.MODE_ONLINE, "Online"), (const.MODE_OFFLINE, "Offline (synced)")],
        default=const.MODE_ONLINE,
        required=True,
        readonly=True,
    )
    synced_at = fields.Datetime(
        readonly=True, help="When an offline redemption arrived."
    )
    dispute_of_id = fields.Many2one(
        "g2p.voucher.redemption",
        "Conflicts With",
        readonly=True,
        help="The accepted redemption of the same voucher this claim conflicts with.",
    )
    resolution = fields.Text(readonly=True, tracking=True)

    _sql_constraints = [
        (
            "device_transaction_unique",
            "unique(device_id, transaction_id)",
            "A device cannot use one transaction id twice.",
        )
    ]

    def init(self):
        # Exactly once, whatever the code path: one accepted redemption per payment.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS g2p_voucher_redemption_one_per_payment "
            "ON g2p_voucher_redemption (payment_id) WHERE state = %s",
            (const.REDEMPTION_ACCEPTED,),
        )

    def action_reject_claim(self):
        """Decide a dispute against the synced claim: the first redemption stands."""
        if not any(self.env.user.has_group(g) for g in DISPUTE_DECIDERS):
            raise UserError(
                _("Only finance validators and administrators decide disputes.")
            )
        for claim in self.sudo():
            if claim.state != const.REDEMPTION_DISPUTED:
                raise UserError(
                    _("Redemption %(txn)s is not disputed.", txn=claim.transaction_id)
                )
            claim.write(
                {
                    "state": const.REDEMPTION_REJECTED,
                    "resolution": _(
                        "%(user)s kept the first redemption (%(point)s, %(when)s); "
                        "this claim of %(claim_point)s is not settled.",
                        user=self.env.user.name,
                        point=claim.dispute_of_id.point_id.name,
                        when=fields.Datetime.to_string(claim.dispute_of_id.redeemed_at),
                        claim_point=claim.point_id.name,
                    ),
                }
            )

    @api.model
    def _answer(self, redemption, replay=False):
        """What a device is told about an accepted redemption.

        One query: every redemption is answered, and through the ORM the names
        alone would fetch the payment, the beneficiary, the currency and the point.
        """
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT r.state, r.transaction_id, p.name, b.name, r.amount, c.name,
                   r.redeemed_at, pt.name
              FROM g2p_voucher_redemption r
              JOIN g2p_payment p ON p.id = r.payment_id
              JOIN g2p_redemption_point pt ON pt.id = r.point_id
              JOIN g2p_entitlement e ON e.id = p.entitlement_id
              LEFT JOIN res_partner b ON b.id = e.partner_id
              LEFT JOIN res_currency c ON c.id = r.currency_id
             WHERE r.id = %s
            """,
            (redemption.id,),
        )
        state, txn, payment, beneficiary, amount, currency, when, point = (
            self.env.cr.fetchone()
        )
        return {
            "status": "redeemed" if state == const.REDEMPTION_ACCEPTED else state,
            "replay": replay,
            "transaction_id": txn,
            "payment": payment,
            "beneficiary": beneficiary,
            "amount": amount,
            "currency": currency or None,
            "redeemed_at": fields.Datetime.to_string(when),
            "point": point,
        }
