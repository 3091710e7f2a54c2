from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_amount, format_datetime

from ..mpesa import const
from ..mpesa.errors import MpesaError

MPESA_STATE_SELECTION = [
    (const.QUEUED, "Queued"),
    (const.SENDING, "Sending"),
    (const.PAID, "Paid"),
    (const.FAILED, "Failed"),
    (const.IN_DOUBT, "In doubt"),
]

# The notification types double as the alert colours of the status banner.
STATUS_LEVEL_SELECTION = [
    (const.NOTIFY_INFO, "Info"),
    (const.NOTIFY_SUCCESS, "Success"),
    (const.NOTIFY_WARNING, "Warning"),
    (const.NOTIFY_DANGER, "Danger"),
]

RECONCILER_GROUPS = (
    "g2p_programs.g2p_finance_validator",
    "g2p_registry_base.group_g2p_admin",
)


def _money(env, amount, currency):
    """An amount as the app shows it (the real base may leave the currency out)."""
    return format_amount(env, amount, currency) if currency else f"{amount:,.2f}"


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
        "Sent To",
        readonly=True,
        copy=False,
        help="The payee id the deposit was sent to (phone, e-mail, account...), "
        "as the manager's Payee ID Field chose it when the payment was sent. The "
        "payment's Account Number is the beneficiary's bank account and may be "
        "unrelated.",
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

    # What an officer sees first on an Mpesa payment: one status, what it
    # means and what to do next (computed on display, never stored).
    mpesa_status_title = fields.Char("Status", compute="_compute_mpesa_guidance")
    mpesa_next_action = fields.Text("Next Step", compute="_compute_mpesa_guidance")
    mpesa_status_level = fields.Selection(
        STATUS_LEVEL_SELECTION, compute="_compute_mpesa_guidance"
    )
    mpesa_payee_preview = fields.Char(
        "Will Be Sent To",
        compute="_compute_mpesa_guidance",
        help="The payee id the manager's Payee ID Field gives for this beneficiary "
        "now; the deposit goes there unless the registrant changes first.",
    )

    def init(self):
        # A sequence, not a timestamp: two sends can happen within one second.
        self.env.cr.execute("CREATE SEQUENCE IF NOT EXISTS g2p_payment_mpesa_send_seq")

    def _compute_mpesa_guidance(self):
        next_runs = {}
        for payment in self:
            manager = payment.mpesa_manager_id
            payment.mpesa_payee_preview = False
            if not manager:
                payment.mpesa_status_title = False
                payment.mpesa_next_action = False
                payment.mpesa_status_level = False
                continue
            if manager.id not in next_runs:
                next_runs[manager.id] = manager._mpesa_next_run_at()
            title, level, action = payment._mpesa_guidance(next_runs[manager.id])
            payment.mpesa_status_title = title
            payment.mpesa_status_level = level
            payment.mpesa_next_action = action
            if payment.mpesa_state in (const.QUEUED, False) and not (
                payment.mpesa_account_no
            ):
                payment.mpesa_payee_preview = payment._mpesa_payee_preview(manager)

    def _mpesa_payee_preview(self, manager):
        try:
            return manager.sudo()._mpesa_payee_account(self)
        except MpesaError as exc:
            return str(exc)

    def _mpesa_when(self, value):
        return format_datetime(self.env, value, dt_format="short") if value else ""

    def _mpesa_guidance(self, next_run_at):
        """(title, level, next step) of one Mpesa payment, for its form."""
        self.ensure_one()
        state = self.mpesa_state
        cycle = self.cycle_id.name or ""
        labels = dict(self._fields["mpesa_state"]._description_selection(self.env))
        if state == const.PAID:
            return (
                labels[state],
                const.NOTIFY_SUCCESS,
                _(
                    "%(amount)s were deposited to %(payee)s (%(when)s). Nothing to do.",
                    amount=_money(
                        self.env,
                        self.amount_paid or self.amount_issued,
                        self.currency_id,
                    ),
                    payee=self.mpesa_account_no or "?",
                    when=self._mpesa_when(self.payment_datetime or self.mpesa_sent_at),
                ),
            )
        if state == const.FAILED:
            return (
                labels[state],
                const.NOTIFY_DANGER,
                _(
                    "%(reason)s Fix that, then click Prepare Payments on cycle "
                    "%(cycle)s: it issues a new payment for this beneficiary, and "
                    "Send Payments sends it.",
                    reason=(self.mpesa_failure_reason or "").strip(),
                    cycle=cycle,
                ),
            )
        if state == const.IN_DOUBT:
            return (
                labels[state],
                const.NOTIFY_WARNING,
                _(
                    "The gateway may or may not have paid it, and it is never "
                    "re-sent on its own. Check Agent Balance settles it from the "
                    "agent's balance; otherwise Reconcile it after checking the "
                    "gateway statement or with the beneficiary (finance validators "
                    "and administrators). The gateway's last answer is on the Mpesa "
                    "tab."
                ),
            )
        if state == const.SENDING:
            return (
                labels[state],
                const.NOTIFY_INFO,
                _(
                    "A request to the gateway is on its way; reload in a moment. "
                    "If it stays here, the scheduled job marks it in doubt."
                ),
            )
        if state and state not in const.STATES:
            # A state another gateway adds (e.g. accepted, result awaited).
            return (
                labels.get(state, state),
                const.NOTIFY_INFO,
                _("The gateway took it; its answer is awaited. Nothing to do."),
            )
        if not self.batch_id.mpesa_due:
            return (
                _("Prepared, not sent"),
                const.NOTIFY_INFO,
                _(
                    "Click Send Payments on cycle %(cycle)s to hand it to the "
                    "scheduled job (or tick Disburse Automatically on the payment "
                    "manager).",
                    cycle=cycle,
                ),
            )
        manager = self.mpesa_manager_id
        if self.mpesa_next_attempt_at and self.mpesa_attempt_count:
            action = _(
                "Attempt %(count)s did not pay (%(reason)s); it is sent again "
                "automatically at %(when)s.",
                count=self.mpesa_attempt_count,
                reason=(self.mpesa_failure_reason or "").strip(),
                when=self._mpesa_when(max(self.mpesa_next_attempt_at, next_run_at))
                if next_run_at
                else self._mpesa_when(self.mpesa_next_attempt_at),
            )
        elif next_run_at:
            action = _(
                "Waits for the next run of the scheduled job at %(when)s; nothing "
                "to do (Disburse Due Batches Now on the payment manager sends at "
                "once).",
                when=self._mpesa_when(next_run_at),
            )
        else:
            action = _(
                "The scheduled job Mpesa: disburse due payment batches is not "
                "active: activate it (Settings > Technical > Scheduled Actions) or "
                "click Disburse Due Batches Now on the payment manager."
            )
        if manager.mpesa_last_error:
            action += " " + _(
                "The last run stopped: %(problem)s", problem=manager.mpesa_last_error
            )
        level = const.NOTIFY_WARNING if manager.mpesa_last_error else const.NOTIFY_INFO
        return labels[const.QUEUED], level, action

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

    def action_mpesa_open_cancel_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Cancel queued payment"),
            "res_model": "g2p.payment.mpesa.cancel.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_payment_ids": [(6, 0, self.ids)]},
        }
