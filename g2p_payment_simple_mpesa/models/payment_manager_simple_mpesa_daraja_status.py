"""Daraja Transaction Status: the queries the cron sends, and their results.

A payment whose result callback has not come by its deadline is queried.
The query's own ids come back in Daraja's synchronous answer and are kept on
the payment, because the status result names the QUERY on top and the
payment only among its parameters (``mpesa.daraja_status``).  The payment's
outcome is read from ``TransactionStatus``: Completed -> paid with its
receipt; Failed -> failed; Reversed -> not paid (the money went back);
Pending or an unknown word -> asked again later.  "No such transaction" after
the acceptance window means M-Pesa never took the request: it is sent again
with the same OriginatorConversationID, so it can never be paid twice.
"""

import logging
from datetime import timedelta

from odoo import _, api, fields, models

from ..mpesa import const, daraja_send, daraja_status
from ..mpesa.daraja_results import CallbackRefused
from ..mpesa.errors import ConfigError
from .daraja_send_store import OdooDarajaStore

_logger = logging.getLogger(__name__)

# A status result may settle a payment awaiting its result, in doubt, or sent
# again after "no such transaction" (its first request may have paid after all).
STATUS_OPEN_STATES = (const.DARAJA_ACCEPTED, const.IN_DOUBT, const.QUEUED)


class G2PPaymentManagerSimpleMpesaDarajaStatus(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------- results
    def _daraja_receive_status(self, kind, body):
        """Apply one status result (or a query's queue timeout); the acknowledgement."""
        self.ensure_one()
        status = daraja_status.parse_status_result(body)
        payment = self._daraja_status_payment(status)
        if kind == const.DARAJA_CALLBACK_STATUS_TIMEOUT:
            # The query timed out in Daraja's queue: the deadline set when it
            # was sent asks again; nothing is known about the payment.
            payment.write(
                {
                    "mpesa_failure_reason": _(
                        "status query timed out in Daraja's queue; asked again by "
                        "a later run"
                    )
                }
            )
            return {"ResultCode": 0, "ResultDesc": "Accepted"}
        changed = self._daraja_apply_status(payment, status)
        return {
            "ResultCode": 0,
            "ResultDesc": "Accepted" if changed else "Already recorded",
        }

    def _daraja_status_payment(self, status):
        """The payment a status result is about: by its own OCID among the
        parameters, else by the query's ids; never by the top ids alone."""
        Payment = self.env["g2p.payment"].sudo()
        mine = [("batch_id.mpesa_manager_id", "=", self.id)]
        if status.payment_ocid:
            domain = mine + [("daraja_ocid", "=", status.payment_ocid)]
            what = status.payment_ocid
        else:
            ids = [i for i in (status.query_ocid, status.query_conversation_id) if i]
            domain = mine + [
                "|",
                ("daraja_query_ocid", "in", ids),
                ("daraja_query_conversation_id", "in", ids),
            ]
            what = " / ".join(ids)
        payment = Payment.search(domain, limit=2)
        if len(payment) != 1:
            _logger.warning(
                "Daraja status result of manager %s for %s matches %s payments",
                self.id,
                what,
                len(payment),
            )
            raise CallbackRefused(
                "No payment of this manager matches the status result for %s." % what
            )
        return payment

    def _daraja_apply_status(self, payment, status):
        """Settle ``payment`` from a status result; True when something changed."""
        store = OdooDarajaStore(self)
        state = payment.mpesa_state
        if state in STATUS_OPEN_STATES:
            state = store._state_now(payment)  # row lock: one result at a time
        if state not in STATUS_OPEN_STATES:
            _logger.info(
                "Daraja status %s for %s (%s) ignored",
                status.outcome,
                payment.name,
                state,
            )
            return False
        now = fields.Datetime.now()
        vals = {"daraja_result_desc": status.status_word[:200]}
        outcome = status.outcome
        if outcome in (const.DARAJA_OUTCOME_PENDING, const.DARAJA_OUTCOME_NOT_FOUND):
            if outcome == const.DARAJA_OUTCOME_NOT_FOUND:
                return self._daraja_not_found(payment, status.reason)
            vals["mpesa_failure_reason"] = _(
                "%(reason)s; asked again by a later run", reason=status.reason
            )
            payment.write(vals)
            return True
        vals.update(
            daraja_result_at=now,
            daraja_deadline=False,
            daraja_settled_by="status",
            daraja_result_code=status.status_word[:20],
        )
        if outcome == const.DARAJA_OUTCOME_PAID:
            vals.update(daraja_receipt=status.receipt, daraja_receiver=status.receiver)
            payment.write(vals)
            amount = float(status.amount) if status.amount is not None else None
            store.apply_decision(
                payment,
                const.PAID,
                _("paid (Transaction Status query), receipt %(r)s", r=status.receipt),
                amount=amount if amount is not None else payment.amount_issued,
            )
            mismatch = daraja_status.amount_mismatch(status, payment.amount_issued)
            if mismatch:
                self._mpesa_post(
                    _(
                        "Payment %(name)s: %(problem)s",
                        name=payment.name,
                        problem=mismatch,
                    )
                )
        elif outcome == const.DARAJA_OUTCOME_REVERSED:
            vals["daraja_reversed"] = True
            payment.write(vals)
            store.apply_decision(
                payment,
                const.FAILED,
                _(
                    "Reversed by M-Pesa (Transaction Status: %(word)s): the money "
                    "went back to the shortcode and the beneficiary was not paid. "
                    "Prepare Payments pays them again with a new payment.",
                    word=status.status_word,
                ),
            )
        else:
            payment.write(vals)
            store.apply_decision(payment, const.FAILED, status.reason)
        self._daraja_refresh_if_complete(payment.batch_id)
        return True

    def _daraja_not_found(self, payment, reason):
        """M-Pesa has no such transaction: wait out the acceptance window, then
        send again with the same OriginatorConversationID (never pays twice)."""
        now = fields.Datetime.now()
        sent_at = payment.mpesa_sent_at or payment.daraja_accepted_at or now
        window_end = sent_at + timedelta(minutes=const.DARAJA_ACCEPTANCE_WINDOW_MINUTES)
        store = OdooDarajaStore(self)
        if now < window_end:
            payment.write(
                {
                    "mpesa_failure_reason": _(
                        "%(reason)s, but the request is recent; asked again after "
                        "%(when)s",
                        reason=reason,
                        when=fields.Datetime.to_string(window_end),
                    ),
                    "daraja_deadline": window_end,
                }
            )
            return True
        if payment.daraja_resends >= const.DARAJA_MAX_RESENDS:
            payment.daraja_deadline = False
            store.apply_decision(
                payment,
                const.IN_DOUBT,
                _(
                    "%(reason)s after %(count)s requests with the same "
                    "OriginatorConversationID; check it in the M-Pesa portal, "
                    "then reconcile",
                    reason=reason,
                    count=payment.daraja_resends + 1,
                ),
            )
            return True
        payment.write(
            {
                "daraja_resends": payment.daraja_resends + 1,
                "daraja_deadline": False,
                "daraja_status_queries": 0,
            }
        )
        store.apply_decision(
            payment,
            const.QUEUED,
            _(
                "%(reason)s: M-Pesa never took the request; sent again with the "
                "same OriginatorConversationID",
                reason=reason,
            ),
            retry_after=0,
        )
        self._mpesa_trigger_cron()
        return True

    # ------------------------------------------------------------- queries
    @api.model
    def _cron_daraja_status_queries(self):
        """Scheduled job: ask Daraja for the results that did not come in time."""
        managers = self.sudo().search([("gateway_type", "=", const.GATEWAY_DARAJA_B2C)])
        for manager in managers:
            open_batches = self.env["g2p.payment.batch"].search(
                [
                    ("mpesa_manager_id", "=", manager.id),
                    ("mpesa_due", "=", True),
                    ("batch_has_completed", "=", False),
                ]
            )
            manager._daraja_refresh_batches(open_batches.ids)
            manager._daraja_query_overdue()
        return True

    def _daraja_overdue_payments(self, limit=const.DARAJA_STATUS_PER_RUN):
        self.ensure_one()
        return self.env["g2p.payment"].search(
            [
                ("batch_id.mpesa_manager_id", "=", self.id),
                ("mpesa_state", "in", (const.DARAJA_ACCEPTED, const.IN_DOUBT)),
                ("daraja_ocid", "!=", False),
                ("daraja_deadline", "<=", fields.Datetime.now()),
            ],
            order="daraja_deadline, id",
            limit=limit,
        )

    def _daraja_query_overdue(self):
        """Send one status query per overdue payment; returns how many were sent."""
        self.ensure_one()
        payments = self._daraja_overdue_payments()
        if not payments:
            return 0
        try:
            client = self._daraja_client()
        except ConfigError as exc:
            self._mpesa_report_problem(str(exc))
            self._mpesa_commit()
            return 0
        retry_at = fields.Datetime.now() + timedelta(
            minutes=const.DARAJA_STATUS_RETRY_MINUTES
        )
        pending = [(p.id, p.daraja_ocid, p.daraja_status_queries + 1) for p in payments]
        for payment, (_id, _ocid, queries) in zip(payments, pending, strict=True):
            payment.write(
                {"daraja_status_queries": queries, "daraja_deadline": retry_at}
            )
        # COMMIT before querying: the answers come back as callbacks, which
        # must not meet (and conflict with) our writes to the same rows.
        self._mpesa_commit()
        answers = {}
        try:
            daraja_send.query(
                pending,
                lambda item: client.query_status(item[1]),
                lambda item, outcome: answers.__setitem__(item[0], outcome),
                concurrency=self.daraja_concurrency or const.DARAJA_DEFAULT_CONCURRENCY,
            )
        finally:
            client.close()
        sent = 0
        for payment_id, _ocid, queries in pending:
            payment = self.env["g2p.payment"].browse(payment_id)
            outcome = answers[payment_id]
            if outcome.systemic:
                self._mpesa_report_problem(outcome.message)
                break
            sent += outcome.kind == const.OK
            if daraja_send.throttled(outcome):
                # Daraja asked us to wait and answered nothing: that query
                # does not count towards the five that end in doubt.
                payment.write(
                    {
                        "daraja_status_queries": queries - 1,
                        "mpesa_failure_reason": _(
                            "status query rate-limited by Daraja (%(reason)s); "
                            "asked again by the next run",
                            reason=outcome.message,
                        ),
                    }
                )
                continue
            if outcome.kind == const.OK:
                body = outcome.body or {}
                payment.write(
                    {
                        "daraja_query_ocid": body.get("OriginatorConversationID"),
                        "daraja_query_conversation_id": body.get("ConversationID"),
                    }
                )
            elif outcome.kind == const.TERMINAL:
                # Refused synchronously: Daraja's way to say "no such
                # transaction" (it may also mean a bad query; resends are few).
                self._daraja_not_found(
                    payment,
                    _("status query refused: %(reason)s", reason=outcome.message),
                )
                continue
            else:
                payment.mpesa_failure_reason = _(
                    "status query unanswered: %(reason)s", reason=outcome.message
                )
            if queries >= const.DARAJA_MAX_STATUS_QUERIES:
                payment.daraja_deadline = False
                if payment.mpesa_state == const.DARAJA_ACCEPTED:
                    OdooDarajaStore(self).apply_decision(
                        payment,
                        const.IN_DOUBT,
                        _(
                            "no result from Daraja after %(count)s status queries; "
                            "check it in the M-Pesa portal, then reconcile",
                            count=queries,
                        ),
                    )
        _logger.info(
            "Daraja manager %s: %s status queries sent for %s overdue payments",
            self.id,
            sent,
            len(pending),
        )
        self._mpesa_commit()
        return sent
