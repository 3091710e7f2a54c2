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

BEGIN_SEND_SQL = """
    UPDATE g2p_payment
       SET mpesa_state = %(sending)s,
           mpesa_attempt_count = %(attempts)s,
           mpesa_sent_at = %(sent_at)s,
           mpesa_send_seq = nextval('g2p_payment_mpesa_send_seq'),
           mpesa_account_no = %(account)s,
           mpesa_next_attempt_at = NULL,
           mpesa_balance_before = %(before)s,
           mpesa_balance_before_known = %(known)s,
           write_uid = %(uid)s,
           write_date = (now() AT TIME ZONE 'UTC')
     WHERE id = %(id)s
       AND mpesa_state = %(queued)s
 RETURNING batch_id
"""
BEGIN_SEND_FIELDS = [
    "mpesa_state",
    "mpesa_attempt_count",
    "mpesa_sent_at",
    "mpesa_send_seq",
    "mpesa_account_no",
    "mpesa_next_attempt_at",
    "mpesa_balance_before",
    "mpesa_balance_before_known",
    "write_uid",
    "write_date",
]


class OdooDispatchStore:
    def __init__(self, manager, ledger=None):
        self.manager = manager  # sudo'ed g2p.program.payment.manager.simple.mpesa
        self.env = manager.env
        self.ledger = ledger
        self.batch_ids = set()
        # Batch of each payment handed to the engine, and batches already
        # flagged as started: the cache does not survive the per-payment COMMITs.
        self.batch_of = {}
        self.started_batch_ids = set()
        self.in_doubt_names = []

    def _payment(self, item):
        return self.env["g2p.payment"].browse(item.key)

    # -- engine contract ------------------------------------------------------
    def begin_send(self, item):
        payment = self._payment(item)
        cr = self.env.cr
        # Only this row's pending ORM writes matter to the UPDATE below.
        payment.flush_recordset()
        ledger = self.ledger
        known = bool(ledger and ledger.expected is not None and not ledger.tainted)
        # One atomic check-and-set: the payment is sent only if the database
        # (not the cache) still says QUEUED at this moment.
        cr.execute(
            BEGIN_SEND_SQL,
            {
                "id": payment.id,
                "attempts": item.attempts + 1,
                "sent_at": fields.Datetime.now(),
                "account": item.account_no,
                "before": ledger.expected if known else 0.0,
                "known": known,
                "uid": self.env.uid,
                "sending": const.SENDING,
                "queued": const.QUEUED,
            },
        )
        row = cr.fetchone()
        payment.invalidate_recordset()
        if not row:
            return False
        self._note_begun(payment, row[0], BEGIN_SEND_FIELDS)
        # COMMIT before the HTTP call: if this worker dies while the request is
        # in flight, the next run must find SENDING (=> in doubt), never QUEUED,
        # or it would pay the beneficiary a second time.
        self.manager._mpesa_commit()
        return True

    def _note_begun(self, payment, batch_id, changed_fields):
        """After the raw SENDING UPDATE of ``payment`` (of batch ``batch_id``)."""
        # Tell the ORM what changed so dependent figures are invalidated (or
        # recomputed) as after an ORM write.
        payment.modified(changed_fields)
        batch = self.env["g2p.payment.batch"].browse(batch_id)
        if batch and batch.id not in self.started_batch_ids:
            if not batch.batch_has_started:
                batch.batch_has_started = True
            self.started_batch_ids.add(batch.id)
        self.batch_of[payment.id] = batch.id
        self.batch_ids.add(batch.id)

    @staticmethod
    def _attempt_vals(payment_id, outcome, decision):
        """The attempt row of one answer (what the payment's Mpesa tab lists)."""
        return {
            "payment_id": payment_id,
            "http_status": outcome.http_status or 0,
            "gateway_message": (outcome.message or "")[:2000],
            "latency_ms": int(outcome.latency_ms or 0),
            "outcome_kind": outcome.kind,
            "request_sent": bool(outcome.sent),
            "resulting_state": decision.state,
        }

    def record_result(self, item, outcome, decision):
        payment = self._payment(item)
        self.env["g2p.payment.mpesa.attempt"].create(
            self._attempt_vals(payment.id, outcome, decision)
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
                state=const.G2P_STATE_SENT,
                status=const.G2P_STATUS_PAID,
                status_is_final=True,
                status_datetime=now,
                amount_paid=amount if amount is not None else payment.amount_issued,
                payment_datetime=now,
                mpesa_failure_reason=False,
                mpesa_next_attempt_at=False,
            )
        elif state == const.FAILED:
            vals.update(
                status=const.G2P_STATUS_FAILED,
                status_is_final=True,
                status_datetime=now,
                mpesa_failure_reason=reason,
                mpesa_next_attempt_at=False,
            )
        elif state == const.QUEUED:
            vals.update(
                state=const.G2P_STATE_ISSUED,
                mpesa_failure_reason=_(
                    "Will retry; last attempt: %(reason)s", reason=reason
                )
                if reason
                else False,
                mpesa_next_attempt_at=now + timedelta(seconds=retry_after or 0),
            )
        elif state == const.IN_DOUBT:
            vals.update(
                state=const.G2P_STATE_SENT,
                mpesa_failure_reason=reason,
                mpesa_next_attempt_at=False,
            )
        # The store writes as the system: users cannot write dispatch fields,
        # the officer's buttons reach here after their own checks.
        payment.sudo().write(vals)
        batch_id = self.batch_of.get(payment.id) or payment.batch_id.id
        if batch_id:
            self.batch_ids.add(batch_id)

    def lock_if_queued(self, payment):
        """Row-lock ``payment`` and tell whether the database still says QUEUED."""
        payment.flush_recordset()
        self.env.cr.execute(
            "SELECT mpesa_state FROM g2p_payment WHERE id = %s FOR UPDATE",
            (payment.id,),
        )
        row = self.env.cr.fetchone()
        payment.invalidate_recordset()
        return bool(row and row[0] == const.QUEUED)

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
