from odoo import _, fields, models
from odoo.exceptions import UserError

from ..models.mpesa_dispatch_store import OdooDispatchStore
from ..mpesa import const

DECISIONS = [
    (const.DECISION_PAID, "Mark paid (the money reached the beneficiary)"),
    (const.DECISION_FAILED, "Mark failed (the money did not move)"),
    (const.DECISION_RETRY, "Send again (I checked it was not applied)"),
]


class G2PPaymentMpesaReconcileWizard(models.TransientModel):
    _name = "g2p.payment.mpesa.reconcile.wizard"
    _description = "Reconcile In-doubt Mpesa Payments"

    payment_ids = fields.Many2many("g2p.payment", string="Payments", required=True)
    decision = fields.Selection(DECISIONS, required=True)
    reason = fields.Text(
        required=True,
        help="What you checked (statement, beneficiary call, gateway operator...). "
        "Recorded in the chatter of the payment manager.",
    )

    def action_apply(self):
        self.ensure_one()
        payments = self.payment_ids
        payments._mpesa_check_reconciler()
        payments._mpesa_ensure_in_doubt()
        reason = (self.reason or "").strip()
        if len(reason) < 5:
            raise UserError(
                _("Explain what you checked before deciding (at least a few words).")
            )
        state = const.DECISION_STATES[self.decision]
        label = dict(self._fields["decision"]._description_selection(self.env))[
            self.decision
        ]
        for manager in payments.mpesa_manager_id:
            mine = payments.filtered(
                lambda p, m=manager: p.mpesa_manager_id == m
            ).sudo()
            store = OdooDispatchStore(manager.sudo())
            officer_reason = _(
                "%(user)s decided: %(decision)s. Reason: %(reason)s",
                user=self.env.user.name,
                decision=label,
                reason=reason,
            )
            for payment in mine:
                store.apply_decision(payment, state, officer_reason, retry_after=0)
                if state == const.QUEUED:
                    payment.mpesa_failure_reason = officer_reason
            manager.sudo()._mpesa_post(
                _(
                    "Reconciled %(names)s: %(detail)s",
                    names=", ".join(mine.mapped("name")),
                    detail=officer_reason,
                )
            )
            self.env["g2p.payment.batch"].sudo().browse(
                store.batch_ids
            )._mpesa_refresh_figures()
            if state == const.QUEUED:
                manager._mpesa_trigger_cron()
        return {"type": "ir.actions.act_window_close"}
