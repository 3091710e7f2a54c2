"""Durable store of the Mpesa dispatch engine, on top of the Odoo ORM.

Not a model: the engine (``..mpesa.dispatch``) calls ``begin_send`` before and
``record_result`` after every gateway request.  Both end with a COMMIT through
the manager's ``_mpesa_commit()`` (replaced by a no-op in TransactionCase tests).
"""

import logging
from datetime import timedelta

from odoo import _, fields

from ..mpesa import const

_logger = logging.getLogger(__name__)


class OdooDispatchStore:
    def __init__(self, manager, ledger=None):
        self.manager = manager  # sudo'ed g2p.program.payment.manager.simple.mpesa
        self.env = manager.env
        self.ledger = ledger
        self.batch_ids = set()
        self.in_doubt_names = []

    def _payment(self, item):
        return self.env["g2p.payment"].browse(item.key)

    # -- engine contract ------------------------------------------------------
    def begin_send(self, item):
        payment = self._payment(item)
        cr = self.env.cr
        self.env.flush_all()
        # The claim query already row-locked it in this transaction; re-read the
        # state from the database, not from the cache, before going further.
        cr.execute("SELECT mpesa_state FROM g2p_payment WHERE id = %s", (payment.id,))
        row = cr.fetchone()
        if not row or row[0] != const.QUEUED:
            return False
        ledger = self.ledger
        known = bool(ledger and ledger.expected is not None and not ledger.tainted)
        cr.execute("SELECT nextval('g2p_payment_mpesa_send_seq')")
        seq = cr.fetchone()[0]
        payment.invalidate_recordset()
        payment.write(
            {
                "mpesa_state": const.SENDING,
                "mpesa_attempt_count": item.attempts + 1,
                "mpesa_sent_at": fields.Datetime.now(),
                "mpesa_send_seq": seq,
                "mpesa_account_no": item.account_no,
                "mpesa_next_attempt_at": False,
                "mpesa_balance_before": ledger.expected if known else 0.0,
                "mpesa_balance_before_known": known,
            }
        )
        batch = payment.batch_id
        if batch and not batch.batch_has_started:
            batch.batch_has_started = True
        self.batch_ids.add(batch.id)
        # COMMIT before the HTTP call: if this worker dies while the request is
        # in flight, the next run must find SENDING (=> in doubt), never QUEUED,
        # or it would pay the beneficiary a second time.
        self.manager._mpesa_commit()
        return True

    def record_result(self, item, outcome, decision):
        payment = self._payment(item)
        self.env["g2p.payment.mpesa.attempt"].create(
            {
                "payment_id": payment.id,
                "http_status": outcome.http_status or 0,
                "gateway_message": (outcome.message or "")[:2000],
                "latency_ms": int(outcome.latency_ms or 0),
                "outcome_kind": outcome.kind,
                "request_sent": bool(outcome.sent),
                "resulting_state": decision.state,
            }
        )
        self.apply_decision(
            payment, decision.state, decision.reason, decision.retry_after, item.amount
        )
        if decision.state == const.IN_DOUBT:
            self.in_doubt_names.append(payment.name)
            self.manager._mpesa_post(
                _(
                    "Payment %(name)s to %(partner)s (%(amount)s) is in doubt: "
                    "%(reason)s. It will not be re-sent automatically; reconcile it "
                    "from the payment form.",
                    name=payment.name,
                    partner=payment.partner_id.display_name,
                    amount=item.amount,
                    reason=decision.reason,
                )
            )
        elif decision.state == const.PAID and outcome.kind == const.AMBIGUOUS:
            self.manager._mpesa_post(
                _(
                    "Payment %(name)s: no clear answer from the gateway, but the "
                    "agent balance proves the deposit was applied (%(reason)s). "
                    "Marked paid.",
                    name=payment.name,
                    reason=decision.reason,
                )
            )
        # COMMIT right after the answer: a crash later in the run must never
        # roll back the evidence that money moved (or did not).
        self.manager._mpesa_commit()

    # -- helpers shared with local failures and reconciliation ------------------
    def apply_decision(self, payment, state, reason, retry_after=None, amount=None):
        """Write ``state`` on the payment, keeping the base fields consistent."""
        now = fields.Datetime.now()
        vals = {"mpesa_state": state}
        if state == const.PAID:
            vals.update(
                state="sent",
                status="paid",
                status_is_final=True,
                status_datetime=now,
                amount_paid=amount if amount is not None else payment.amount_issued,
                payment_datetime=now,
                mpesa_failure_reason=False,
                mpesa_next_attempt_at=False,
            )
        elif state == const.FAILED:
            vals.update(
                status="failed",
                status_is_final=True,
                status_datetime=now,
                mpesa_failure_reason=reason,
                mpesa_next_attempt_at=False,
            )
        elif state == const.QUEUED:
            vals.update(
                state="issued",
                mpesa_failure_reason=_(
                    "Will retry; last attempt: %(reason)s", reason=reason
                )
                if reason
                else False,
                mpesa_next_attempt_at=now + timedelta(seconds=retry_after or 0),
            )
        elif state == const.IN_DOUBT:
            vals.update(
                state="sent", mpesa_failure_reason=reason, mpesa_next_attempt_at=False
            )
        payment.write(vals)
        if payment.batch_id:
            self.batch_ids.add(payment.batch_id.id)

    def fail_locally(self, payment, reason):
        """Fail one payment that cannot be sent (bad payee or amount); no request."""
        self.env["g2p.payment.mpesa.attempt"].create(
            {
                "payment_id": payment.id,
                "outcome_kind": const.TERMINAL,
                "gateway_message": reason,
                "request_sent": False,
                "resulting_state": const.FAILED,
            }
        )
        self.apply_decision(payment, const.FAILED, reason)
        _logger.info("Mpesa payment %s not sent: %s", payment.id, reason)
        self.manager._mpesa_commit()
