"""What a payment sent through Daraja B2C carries: its idempotency key and result."""

from odoo import _, fields, models

from ..mpesa import const


def _accepted_to_in_doubt(payments):
    # The value disappears only with this module's code: keep such payments
    # reconcilable rather than silently unqueued.
    payments.sudo().write({"mpesa_state": const.IN_DOUBT})


class G2PPaymentDaraja(models.Model):
    # One model, one file per responsibility (payment.py: the Mpesa dispatch).
    _inherit = "g2p.payment"  # pylint: disable=consider-merging-classes-inherited

    mpesa_state = fields.Selection(
        # Before Paid: the form's status bar reads Queued > Sending >
        # Accepted > Paid.
        selection_add=[
            (const.DARAJA_ACCEPTED, "Accepted, awaiting result"),
            (const.PAID,),
        ],
        ondelete={const.DARAJA_ACCEPTED: _accepted_to_in_doubt},
    )
    daraja_ocid = fields.Char(
        "OriginatorConversationID",
        readonly=True,
        copy=False,
        index=True,
        help="Daraja idempotency key of this payment: fixed before its first request "
        "and sent again unchanged on every retry, so Daraja never pays it twice.",
    )
    daraja_conversation_id = fields.Char("ConversationID", readonly=True, copy=False)
    daraja_receipt = fields.Char(
        "M-Pesa Receipt", readonly=True, copy=False, index=True
    )
    daraja_result_code = fields.Char("Result Code", readonly=True, copy=False)
    daraja_result_desc = fields.Char("Result Description", readonly=True, copy=False)
    daraja_receiver = fields.Char("Receiver Name", readonly=True, copy=False)
    daraja_accepted_at = fields.Datetime("Accepted At", readonly=True, copy=False)
    daraja_result_at = fields.Datetime("Result At", readonly=True, copy=False)
    daraja_deadline = fields.Datetime(
        "Result Expected By",
        readonly=True,
        copy=False,
        index=True,
        help="Without a result callback by then, a Transaction Status query asks "
        "Daraja for it.",
    )
    daraja_status_queries = fields.Integer("Status Queries", readonly=True, copy=False)
    # A status query's own ids (Daraja's synchronous answer): its result names
    # the query on top, and the payment only among its parameters, if at all.
    daraja_query_ocid = fields.Char(
        "Status Query OriginatorConversationID", readonly=True, copy=False, index=True
    )
    daraja_query_conversation_id = fields.Char(
        "Status Query ConversationID", readonly=True, copy=False, index=True
    )
    daraja_settled_by = fields.Selection(
        [("callback", "Result callback"), ("status", "Transaction Status query")],
        "Settled By",
        readonly=True,
        copy=False,
    )
    daraja_reversed = fields.Boolean(
        "Reversed",
        readonly=True,
        copy=False,
        help="M-Pesa reversed this payment: the money went back to the paying "
        "shortcode and the beneficiary was not paid.",
    )
    daraja_resends = fields.Integer(
        "Sent Again After 'No Such Transaction'",
        readonly=True,
        copy=False,
        help="Times a status query found no such transaction after the acceptance "
        "window, so the request was sent again with the same "
        "OriginatorConversationID.",
    )

    def _mpesa_guidance(self, next_run_at):
        if self.daraja_reversed and self.mpesa_state == const.FAILED:
            return (
                _("Reversed"),
                const.NOTIFY_DANGER,
                _(
                    "M-Pesa reversed this payment (Transaction Status: %(word)s, "
                    "%(when)s): the money went back to the shortcode and the "
                    "beneficiary was NOT paid. Click Prepare Payments on cycle "
                    "%(cycle)s to pay them with a new payment; ask the M-Pesa "
                    "operator why it was reversed if it happens again.",
                    word=self.daraja_result_desc or "Reversed",
                    when=self._mpesa_when(self.daraja_result_at),
                    cycle=self.cycle_id.name or "",
                ),
            )
        if self.mpesa_state == const.PAID and self.daraja_settled_by == "status":
            title, level, action = super()._mpesa_guidance(next_run_at)
            return (
                title,
                level,
                _(
                    "%(action)s Its result callback never came: a Transaction Status "
                    "query settled it (%(when)s, receipt %(receipt)s).",
                    action=action,
                    when=self._mpesa_when(self.daraja_result_at),
                    receipt=self.daraja_receipt or "?",
                ),
            )
        if self.mpesa_state != const.DARAJA_ACCEPTED:
            return super()._mpesa_guidance(next_run_at)
        labels = dict(self._fields["mpesa_state"]._description_selection(self.env))
        if self.daraja_deadline:
            action = _(
                "Daraja accepted it (%(accepted)s); its result callback makes it "
                "paid or failed. Without one by %(deadline)s, the scheduled job "
                "asks Daraja with a Transaction Status query. Nothing to do.",
                accepted=self._mpesa_when(self.daraja_accepted_at),
                deadline=self._mpesa_when(self.daraja_deadline),
            )
        else:
            action = _(
                "Daraja accepted it (%(accepted)s); its result callback makes it "
                "paid or failed. Nothing to do.",
                accepted=self._mpesa_when(self.daraja_accepted_at),
            )
        return labels[const.DARAJA_ACCEPTED], const.NOTIFY_INFO, action

    _sql_constraints = [
        (
            "daraja_ocid_unique",
            "unique(daraja_ocid)",
            "Two payments cannot share one Daraja OriginatorConversationID.",
        )
    ]
