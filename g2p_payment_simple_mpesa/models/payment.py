from odoo import _, fields, models
from odoo.exceptions import UserError

from ..mpesa import const

MPESA_STATE_SELECTION = [
    (const.QUEUED, "Queued"),
    (const.SENDING, "Sending"),
    (const.PAID, "Paid"),
    (const.FAILED, "Failed"),
    (const.IN_DOUBT, "In doubt"),
]

RECONCILER_GROUPS = (
    "g2p_programs.g2p_finance_validator",
    "g2p_registry_base.group_g2p_admin",
)


class G2PPayment(models.Model):
    _inherit = "g2p.payment"

    # Indexed as on the stand-in (the real base indexes neither): Prepare looks
    # up the payments of each chunk's entitlements, the cron those of due
    # batches; unindexed, both scan every payment ever made.
    entitlement_id = fields.Many2one(index=True)
    batch_id = fields.Many2one(index=True)
    mpesa_state = fields.Selection(
        MPESA_STATE_SELECTION,
        "Mpesa Dispatch State",
        index=True,
        copy=False,
        readonly=True,
        help="Queued: waiting to be sent. Sending: a request is (or was) in flight. "
        "In doubt: the gateway may have applied it; it is never re-sent automatically "
        "and must be reconciled.",
    )
    mpesa_attempt_ids = fields.One2many(
        "g2p.payment.mpesa.attempt", "payment_id", "Mpesa Attempts", readonly=True
    )
    mpesa_attempt_count = fields.Integer(
        "Mpesa Attempts Made", readonly=True, copy=False
    )
    mpesa_next_attempt_at = fields.Datetime(
        "Next Attempt At", readonly=True, copy=False
    )
    mpesa_failure_reason = fields.Text("Mpesa Reason", readonly=True, copy=False)
    mpesa_account_no = fields.Char(
        "Mpesa Account Sent",
        readonly=True,
        copy=False,
        help="Payee id sent to the gateway.",
    )
    mpesa_sent_at = fields.Datetime("Last Sent At", readonly=True, copy=False)
    mpesa_send_seq = fields.Integer(
        "Send Sequence",
        readonly=True,
        copy=False,
        help="Global order of the last request (later sends by the same agent move "
        "its balance too).",
    )
    mpesa_balance_before = fields.Float(
        "Agent Balance Before Send",
        readonly=True,
        copy=False,
        help="Agent balance expected just before the last request (sends per agent are "
        "serialised, so the balance delta tells whether an in-doubt deposit was "
        "applied).",
    )
    mpesa_balance_before_known = fields.Boolean(readonly=True, copy=False)
    mpesa_manager_id = fields.Many2one(
        "g2p.program.payment.manager.simple.mpesa",
        "Mpesa Payment Manager",
        related="batch_id.mpesa_manager_id",
    )

    def init(self):
        # A sequence, not a timestamp: two sends can happen within one second.
        self.env.cr.execute("CREATE SEQUENCE IF NOT EXISTS g2p_payment_mpesa_send_seq")

    def _mpesa_debited(self):
        """Whether a failed payment may have moved the agent's money."""
        self.ensure_one()
        last = self.mpesa_attempt_ids.sorted(lambda a: (a.attempt_datetime, a.id))[-1:]
        if not last or not last.request_sent:
            return False
        return not 400 <= (last.http_status or 0) < 500

    def _mpesa_check_reconciler(self):
        if not any(self.env.user.has_group(g) for g in RECONCILER_GROUPS):
            raise UserError(
                _(
                    "Only finance validators and administrators may reconcile Mpesa "
                    "payments."
                )
            )

    def _mpesa_ensure_in_doubt(self):
        for payment in self:
            if payment.mpesa_state != const.IN_DOUBT:
                raise UserError(
                    _(
                        "Payment %(name)s is not in doubt (state: %(state)s); "
                        "only in-doubt payments can be reconciled.",
                        name=payment.name,
                        state=payment.mpesa_state or _("not an Mpesa payment"),
                    )
                )

    def action_mpesa_check_balance(self):
        """Resolve in-doubt payments from the agent balance delta."""
        self._mpesa_check_reconciler()
        self._mpesa_ensure_in_doubt()
        results = []
        for payment in self:
            results.append(
                payment.mpesa_manager_id.sudo()._mpesa_reconcile_by_balance(payment)
            )
        return self.env["g2p.program.payment.manager.simple.mpesa"]._mpesa_notification(
            "\n".join(results),
            kind=const.NOTIFY_INFO,
            sticky=True,
            title=_("Mpesa reconciliation"),
        )

    def action_mpesa_open_reconcile_wizard(self):
        self._mpesa_check_reconciler()
        self._mpesa_ensure_in_doubt()
        return {
            "type": "ir.actions.act_window",
            "name": _("Reconcile in-doubt payment"),
            "res_model": "g2p.payment.mpesa.reconcile.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_payment_ids": [(6, 0, self.ids)]},
        }
