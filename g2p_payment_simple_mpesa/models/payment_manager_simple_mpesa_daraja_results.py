"""Daraja B2C results: callbacks from the FastAPI router.

A result settles a payment once: paid (with the M-Pesa receipt) or failed
(with the reason); a repeated or late callback for a settled payment changes
nothing.  A QueueTimeOut leaves the result unknown and makes a Transaction
Status query due at once (``payment_manager_simple_mpesa_daraja_status``
sends the queries and reads their results, which have their own paths).
"""

import hmac
import logging

from odoo import _, api, fields, models

from ..mpesa import const, daraja_results
from ..mpesa.daraja_results import CallbackRefused
from .daraja_send_store import OdooDarajaStore

_logger = logging.getLogger(__name__)

OPEN_STATES = (const.QUEUED, const.SENDING, const.DARAJA_ACCEPTED, const.IN_DOUBT)
ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}


class G2PPaymentManagerSimpleMpesaDarajaResults(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------ callbacks
    @api.model
    def _daraja_manager_for_secret(self, secret):
        managers = self.sudo().search(
            [
                ("gateway_type", "=", const.GATEWAY_DARAJA_B2C),
                ("daraja_callback_secret", "=", secret or ""),
            ]
        )
        if len(managers) != 1 or not hmac.compare_digest(
            (managers.daraja_callback_secret or "").encode(), (secret or "").encode()
        ):
            raise CallbackRefused("Unknown callback URL.")
        return managers

    @api.model
    def _daraja_receive_callback(self, secret, kind, body, caller=None):
        """Apply one callback; the acknowledgement to answer Daraja with.

        ``caller``: (peer address, X-Forwarded-For, body size) of the HTTP
        request, checked against the manager's allow-list and size limit.
        """
        manager = self._daraja_manager_for_secret(secret)
        if caller is not None:
            manager._daraja_check_caller(*caller)
        if kind in (const.DARAJA_CALLBACK_STATUS, const.DARAJA_CALLBACK_STATUS_TIMEOUT):
            return manager._daraja_receive_status(kind, body)
        result = daraja_results.parse_callback(body, kind)
        payment = (
            self.env["g2p.payment"]
            .sudo()
            .search(
                [
                    ("daraja_ocid", "=", result.ocid),
                    ("batch_id.mpesa_manager_id", "=", manager.id),
                ]
            )
        )
        if not payment:
            _logger.warning(
                "Daraja callback of manager %s for unknown OCID %s ignored",
                manager.id,
                result.ocid,
            )
            raise CallbackRefused(
                "No payment of this manager has the OriginatorConversationID %s."
                % result.ocid
            )
        changed = manager._daraja_apply_result(payment, result)
        return dict(ACK, ResultDesc="Accepted" if changed else "Already recorded")

    def _daraja_apply_result(self, payment, result):
        """Settle ``payment`` from ``result`` once; True when something changed."""
        self.ensure_one()
        store = OdooDarajaStore(self)
        # Settled already (the usual repeated callback): answer without the
        # row lock, which concurrent copies would contend for.
        state = payment.mpesa_state
        if state in OPEN_STATES:
            state = store._state_now(payment)  # row lock: one callback at a time
        if state not in OPEN_STATES:
            if state == const.FAILED and result.outcome == const.DARAJA_OUTCOME_PAID:
                # Money moved after the payment was settled as failed (say by
                # an officer): say so loudly, a new payment may pay twice.
                self._mpesa_post(
                    _(
                        "Payment %(name)s was marked failed, but Daraja reports it "
                        "paid (receipt %(receipt)s). Do not pay this beneficiary "
                        "again for it; check any payment prepared since.",
                        name=payment.name,
                        receipt=result.receipt,
                    )
                )
            _logger.info(
                "Daraja result %s for %s (%s) ignored: already settled",
                result.outcome,
                payment.name,
                state,
            )
            return False
        now = fields.Datetime.now()
        vals = {
            "daraja_result_code": result.result_code,
            "daraja_result_desc": result.result_desc[:200] or False,
        }
        if result.conversation_id and not payment.daraja_conversation_id:
            vals["daraja_conversation_id"] = result.conversation_id
        if result.outcome == const.DARAJA_OUTCOME_UNKNOWN:
            if payment.daraja_deadline and payment.daraja_deadline <= now:
                return False  # already due for a status query
            vals.update(daraja_deadline=now, mpesa_failure_reason=result.reason)
            payment.write(vals)
            return True
        vals.update(
            daraja_result_at=now, daraja_deadline=False, daraja_settled_by="callback"
        )
        if result.outcome == const.DARAJA_OUTCOME_PAID:
            vals.update(daraja_receipt=result.receipt, daraja_receiver=result.receiver)
            payment.write(vals)
            amount = result.amount if result.amount is not None else None
            store.apply_decision(
                payment,
                const.PAID,
                result.reason,
                amount=float(amount) if amount is not None else payment.amount_issued,
            )
            mismatch = daraja_results.amount_mismatch(result, payment.amount_issued)
            if mismatch:
                self._mpesa_post(
                    _(
                        "Payment %(name)s: %(problem)s",
                        name=payment.name,
                        problem=mismatch,
                    )
                )
        else:
            payment.write(vals)
            store.apply_decision(payment, const.FAILED, result.reason)
        self._daraja_refresh_if_complete(payment.batch_id)
        return True

    def _daraja_refresh_if_complete(self, batch):
        """Refresh the batch only once its last payment is settled.

        Results arrive concurrently; each rewriting the batch row would make
        the callbacks of one batch conflict.  The status cron refreshes the
        figures of batches still open.
        """
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT 1 FROM g2p_payment WHERE batch_id = %s "
            "AND mpesa_state NOT IN %s LIMIT 1",
            (batch.id, tuple(const.FINAL_STATES)),
        )
        if not self.env.cr.fetchone():
            batch._mpesa_refresh_figures()
