from odoo import fields, models

from ..mpesa import const

OUTCOME_SELECTION = [
    (const.OK, "Accepted"),
    (const.RETRYABLE, "Not applied, retryable"),
    (const.TERMINAL, "Rejected"),
    (const.AMBIGUOUS, "Unknown (may have been applied)"),
]


class G2PPaymentMpesaAttempt(models.Model):
    """One request sent to the gateway for one payment: the audit trail of a deposit."""

    _name = "g2p.payment.mpesa.attempt"
    _description = "Mpesa Deposit Attempt"
    _order = "attempt_datetime desc, id desc"
    _rec_name = "payment_id"

    payment_id = fields.Many2one(
        "g2p.payment", required=True, ondelete="cascade", index=True, readonly=True
    )
    attempt_datetime = fields.Datetime(
        "Time", required=True, default=fields.Datetime.now, readonly=True
    )
    http_status = fields.Integer("HTTP Status", readonly=True)
    gateway_message = fields.Text(readonly=True)
    latency_ms = fields.Integer("Latency (ms)", readonly=True)
    outcome_kind = fields.Selection(
        OUTCOME_SELECTION, "Outcome", required=True, readonly=True
    )
    request_sent = fields.Boolean(
        readonly=True,
        help="Whether the request left this server (False: refused locally).",
    )
    resulting_state = fields.Char(readonly=True)
