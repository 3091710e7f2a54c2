"""Settle in-doubt payments from the agent balance (the Check Balance button).

The arithmetic is Odoo-free (``..mpesa.reconcile``); this file reads what it
needs from the database and the gateway, and applies the verdict.
"""

from odoo import _, fields, models

from ..mpesa import const, reconcile
from ..mpesa.errors import MpesaError
from .mpesa_dispatch_store import OdooDispatchStore


class G2PPaymentManagerSimpleMpesaReconcile(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    def _mpesa_later_sends(self, payment):
        """Deposits of the same agent sent after ``payment``, for the arithmetic."""
        managers = self._mpesa_same_agent_managers()
        later = self.env["g2p.payment"].search(
            [
                ("batch_id.mpesa_manager_id", "in", managers.ids),
                ("mpesa_send_seq", ">", payment.mpesa_send_seq),
            ]
        )
        return [
            reconcile.LaterSend(
                state=p.mpesa_state,
                amount_paid=p.amount_paid,
                # Read the attempts only where it matters: failed payments.
                debited=p.mpesa_state == const.FAILED and p._mpesa_debited(),
            )
            for p in later
        ]

    def _mpesa_read_balance(self, payment):
        """The agent balance now, or the message telling why it cannot be read."""
        client = self._mpesa_client()
        try:
            with self._mpesa_agent_lock() as acquired:
                if not acquired:
                    return None, _(
                        "Payment %(name)s: a disbursement run is using this agent "
                        "right "
                        "now; try again in a minute.",
                        name=payment.name,
                    )
                return client.balance(), None
        except MpesaError as exc:
            return None, _(
                "Payment %(name)s: could not read the agent balance (%(problem)s).",
                name=payment.name,
                problem=str(exc),
            )
        finally:
            client.close()

    def _mpesa_reconcile_by_balance(self, payment):
        """Settle one in-doubt payment from the agent balance; returns a message."""
        self.ensure_one()
        if not payment.mpesa_balance_before_known:
            return _(
                "Payment %(name)s: the agent balance before its send is unknown; "
                "decide with the Reconcile wizard.",
                name=payment.name,
            )
        # Later deposits move the balance too: paid ones by their amount,
        # refused ones (4xx) not at all; anything else makes the delta useless.
        expected_before = reconcile.balance_if_not_applied(
            payment.mpesa_balance_before, self._mpesa_later_sends(payment)
        )
        if expected_before is None:
            return _(
                "Payment %(name)s: later deposits of this agent are not settled, "
                "so the "
                "balance cannot tell; decide with the Reconcile wizard.",
                name=payment.name,
            )
        amount = reconcile.whole(payment.amount_issued)
        actual, problem = self._mpesa_read_balance(payment)
        if problem:
            return problem
        check = reconcile.judge(
            expected_before,
            actual,
            amount,
            payment.mpesa_sent_at,
            fields.Datetime.now(),
        )
        store = OdooDispatchStore(self)
        if check.verdict == const.APPLIED:
            reason = _(
                "agent balance fell from %(before)s to %(now)s, exactly the amount",
                before=expected_before,
                now=actual,
            )
            store.apply_decision(payment, const.PAID, reason, amount=amount)
            message = _(
                "Payment %(name)s reconciled as PAID by %(user)s: %(reason)s.",
                name=payment.name,
                user=self.env.user.name,
                reason=reason,
            )
        elif check.verdict == const.TOO_EARLY:
            # The gateway may still be processing a stalled request: an early
            # "failed" could be followed by the money moving anyway.
            return _(
                "Payment %(name)s: not applied so far; check again after "
                "%(when)s before deciding it failed.",
                name=payment.name,
                when=check.settled_after,
            )
        elif check.verdict == const.NOT_APPLIED:
            reason = _(
                "agent balance unchanged (%(now)s) since the send: the deposit was not "
                "applied",
                now=actual,
            )
            store.apply_decision(payment, const.FAILED, reason)
            message = _(
                "Payment %(name)s reconciled as FAILED by %(user)s: %(reason)s.",
                name=payment.name,
                user=self.env.user.name,
                reason=reason,
            )
        else:
            return _(
                "Payment %(name)s: the agent balance (%(now)s) does not match "
                "%(before)s "
                "or %(before)s minus %(amount)s; decide with the Reconcile wizard.",
                name=payment.name,
                now=actual,
                before=expected_before,
                amount=amount,
            )
        self.env["g2p.payment.batch"].browse(store.batch_ids)._mpesa_refresh_figures()
        self._mpesa_post(message)
        return message
