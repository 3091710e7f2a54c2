"""Cancel queued Mpesa payments, with the reason, so they can be issued anew.

The one way to correct what a payment pays (its amount, beneficiary and payee
are fixed when it is issued): cancel it while it is still queued, correct the
entitlement, then Prepare Payments issues a new payment for it.
"""

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..models.mpesa_dispatch_store import OdooDispatchStore
from ..mpesa import const

CANCELLER_GROUPS = (
    "g2p_programs.g2p_program_manager",
    "g2p_programs.g2p_finance_validator",
    "g2p_registry_base.group_g2p_admin",
)


class G2PPaymentMpesaCancelWizard(models.TransientModel):
    _name = "g2p.payment.mpesa.cancel.wizard"
    _description = "Cancel Queued Mpesa Payments"

    payment_ids = fields.Many2many("g2p.payment", string="Payments", required=True)
    reason = fields.Text(
        required=True,
        help="Why the payment must not be sent (wrong amount, wrong beneficiary...). "
        "Recorded on the payment and in the chatter of the payment manager.",
    )

    def action_apply(self):
        self.ensure_one()
        if not any(self.env.user.has_group(g) for g in CANCELLER_GROUPS):
            raise UserError(
                _(
                    "Only program managers, finance validators and administrators "
                    "may cancel Mpesa payments."
                )
            )
        reason = (self.reason or "").strip()
        if len(reason) < 5:
            raise UserError(_("Say why the payment is cancelled (a few words)."))
        detail = _(
            "Cancelled by %(user)s before it was sent. Reason: %(reason)s",
            user=self.env.user.name,
            reason=reason,
        )
        for manager in self.payment_ids.mpesa_manager_id:
            mine = self.payment_ids.filtered(
                lambda p, m=manager: p.mpesa_manager_id == m
            )
            store = OdooDispatchStore(manager.sudo())
            for payment in mine.sudo():
                # Locked first: the scheduled job claims a payment with the same
                # row lock, so it is either still queued here or already sending.
                if not store.lock_if_queued(payment):
                    raise UserError(
                        _(
                            "Payment %(name)s can no longer be cancelled: it is "
                            "%(state)s. Only queued payments can; an in-doubt one is "
                            "reconciled first.",
                            name=payment.name,
                            state=payment.mpesa_state,
                        )
                    )
                store.apply_decision(payment, const.FAILED, detail)
            manager.sudo()._mpesa_post(
                _(
                    "Payments %(names)s: %(detail)s",
                    names=", ".join(mine.mapped("name")),
                    detail=detail,
                )
            )
            self.env["g2p.payment.batch"].sudo().browse(
                store.batch_ids
            )._mpesa_refresh_figures()
        return {"type": "ir.actions.act_window_close"}
