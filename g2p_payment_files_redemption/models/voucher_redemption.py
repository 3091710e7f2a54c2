"""The redemption ledger: one accepted row per paid voucher payment."""

from odoo import api, fields, models

from ..redemption import const


class G2PVoucherRedemption(models.Model):
    _name = "g2p.voucher.redemption"
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
        [(const.REDEMPTION_ACCEPTED, "Accepted")],
        required=True,
        default=const.REDEMPTION_ACCEPTED,
        readonly=True,
    )

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

    @api.model
    def _answer(self, redemption, replay=False):
        """What a device is told about an accepted redemption."""
        return {
            "status": "redeemed",
            "replay": replay,
            "transaction_id": redemption.transaction_id,
            "payment": redemption.payment_id.name,
            "beneficiary": redemption.partner_id.name,
            "amount": redemption.amount,
            "currency": redemption.currency_id.name or None,
            "redeemed_at": fields.Datetime.to_string(redemption.redeemed_at),
            "point": redemption.point_id.name,
        }
