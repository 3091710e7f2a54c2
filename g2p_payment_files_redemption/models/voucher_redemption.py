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
        """What a device is told about an accepted redemption."""
        return {
            "status": "redeemed"
            if redemption.state == const.REDEMPTION_ACCEPTED
            else redemption.state,
            "replay": replay,
            "transaction_id": redemption.transaction_id,
            "payment": redemption.payment_id.name,
            "beneficiary": redemption.partner_id.name,
            "amount": redemption.amount,
            "currency": redemption.currency_id.name or None,
            "redeemed_at": fields.Datetime.to_string(redemption.redeemed_at),
            "point": redemption.point_id.name,
        }
