"""Durable store of the Daraja sending engine (``..mpesa.daraja_send``).

Not a model.  Called only from the cron's main thread (the engine's worker
threads do HTTP only).  COMMITs go through the manager's ``_mpesa_commit()``
(a no-op in TransactionCase tests).

``begin_send`` commits each payment's SENDING before its request.  Answers
are recorded a group at a time (``flush``: every DARAJA_RESULT_FLUSH_SIZE
answers or DARAJA_RESULT_FLUSH_SECONDS, and at the end of the run), in one
short transaction that is simply redone from memory when a result callback
wrote one of its rows meanwhile.  Unlike simple-mpesa, losing a group to a
crash pays nobody twice: its payments are still SENDING, so the next run
sends them again with the same OriginatorConversationID and Daraja answers
"already accepted".
"""

import logging
import time
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import _, fields

from ..mpesa import const
from .mpesa_dispatch_store import OdooDispatchStore

_logger = logging.getLogger(__name__)

# A result callback (another worker) may update the row this thread is about
# to lock: REPEATABLE READ then refuses our statement; start the transaction
# again (everything before it is committed).
CONFLICTS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
CONFLICT_TRIES = 5

BEGIN_SEND_SQL = """
    UPDATE g2p_payment
       SET mpesa_state = %(sending)s,
           mpesa_attempt_count = %(attempts)s,
           mpesa_sent_at = %(sent_at)s,
           mpesa_send_seq = nextval('g2p_payment_mpesa_send_seq'),
           mpesa_account_no = %(account)s,
           mpesa_next_attempt_at = NULL,
           daraja_deadline = NULL,
           write_uid = %(uid)s,
           write_date = (now() AT TIME ZONE 'UTC')
     WHERE id = %(id)s
       AND mpesa_state = %(queued)s
       AND daraja_ocid = %(ocid)s
 RETURNING batch_id
"""
BEGIN_SEND_FIELDS = [
    "mpesa_state",
    "mpesa_attempt_count",
    "mpesa_sent_at",
    "mpesa_send_seq",
    "mpesa_account_no",
    "mpesa_next_attempt_at",
    "daraja_deadline",
    "write_uid",
    "write_date",
]


class OdooDarajaStore(OdooDispatchStore):
    def __init__(self, manager):
        super().__init__(manager)
        self._pending = {}  # payment id -> (item, outcome, decision, attempts)
        self._pending_since = 0.0
        self.result_wait = timedelta(
            minutes=manager.daraja_result_minutes or const.DARAJA_DEFAULT_RESULT_MINUTES
        )

    def _retrying(self, work, item):
        for attempt in range(1, CONFLICT_TRIES + 1):
            try:
                return work(item)
            except CONFLICTS:
                if attempt == CONFLICT_TRIES:
                    raise
                _logger.info("Daraja payment %s: concurrent update, retried", item.key)
                self.env.cr.rollback()
                time.sleep(0.05 * attempt)
        return None

    def begin_send(self, item):
        return self._retrying(self._begin_send, item)

    def record_result(self, item, outcome, decision):
        if not self._pending:
            self._pending_since = time.monotonic()
        # item.attempts as of this answer: a re-send changes the item later.
        self._pending[item.key] = (item, outcome, decision, item.attempts)
        if (
            len(self._pending) >= const.DARAJA_RESULT_FLUSH_SIZE
            or time.monotonic() - self._pending_since
            >= const.DARAJA_RESULT_FLUSH_SECONDS
        ):
            self.flush()

    def flush(self):
        """Record the answers kept so far, in one transaction (redone on conflict)."""
        if not self._pending:
            return
        pending = list(self._pending.values())
        in_doubt = len(self.in_doubt_names)
        for attempt in range(1, CONFLICT_TRIES + 1):
            del self.in_doubt_names[in_doubt:]  # a redone group adds them again
            try:
                self._record_results(pending)
                # COMMIT the group: the evidence of acceptance (and the result
                # deadlines) must outlive the run.
                self.manager._mpesa_commit()
                break
            except CONFLICTS:
                if attempt == CONFLICT_TRIES:
                    raise
                _logger.info("Daraja results: concurrent update, group redone")
                self.env.cr.rollback()
                self.env.invalidate_all(flush=False)
                time.sleep(0.05 * attempt)
        self._pending.clear()

    def _begin_send(self, item):
        if item.key in self._pending:
            # Sent again in this run (after a 429): its last answer first.
            self.flush()
        payment = self._payment(item)
        payment.flush_recordset()
        # Check-and-set in the database: sent only if still QUEUED with this OCID.
        self.env.cr.execute(
            BEGIN_SEND_SQL,
            {
                "id": payment.id,
                "attempts": item.attempts + 1,
                "sent_at": fields.Datetime.now(),
                "account": item.msisdn,
                "uid": self.env.uid,
                "sending": const.SENDING,
                "queued": const.QUEUED,
                "ocid": item.ocid,
            },
        )
        row = self.env.cr.fetchone()
        payment.invalidate_recordset()
        if not row:
            return False
        self._note_begun(payment, row[0], BEGIN_SEND_FIELDS)
        # COMMIT before the request: no other worker may claim it meanwhile,
        # and a SENDING row left by a dead worker is recognisable (and, with
        # its OCID, safe to send again).
        self.manager._mpesa_commit()
        return True

    def _state_now(self, payment):
        """Lock the row and read its state from the database (not the cache)."""
        payment.flush_recordset()
        self.env.cr.execute(
            "SELECT mpesa_state FROM g2p_payment WHERE id = %s FOR UPDATE",
            (payment.id,),
        )
        row = self.env.cr.fetchone()
        payment.invalidate_recordset()
        return row and row[0]

    def _record_results(self, pending):
        Payment = self.env["g2p.payment"]
        ids = [item.key for item, *_rest in pending]
        self.env.flush_all()
        # Lock first, so the transaction's snapshot is taken by this statement.
        self.env.cr.execute(
            "SELECT id, mpesa_state FROM g2p_payment WHERE id IN %s "
            "ORDER BY id FOR UPDATE",
            (tuple(ids),),
        )
        states = dict(self.env.cr.fetchall())
        payments = Payment.browse(ids)
        payments.invalidate_recordset()
        self.env["g2p.payment.mpesa.attempt"].create(
            [
                self._attempt_vals(item.key, outcome, decision)
                for item, outcome, decision, _attempts in pending
            ]
        )
        by_id = {payment.id: payment for payment in payments}  # one prefetch
        for item, outcome, decision, attempts in pending:
            # A result callback (another worker) may have settled the payment
            # while the request was in flight: its result wins.
            if states.get(item.key) != const.SENDING:
                continue
            payment = by_id[item.key]
            self.apply_daraja_decision(payment, decision, outcome, item)
            if payment.mpesa_attempt_count != attempts:
                # A rate-limited answer gave its attempt back (Max Attempts
                # counts tries, not requests Daraja asked us to wait with).
                payment.mpesa_attempt_count = attempts

    def apply_daraja_decision(self, payment, decision, outcome=None, item=None):
        now = fields.Datetime.now()
        if decision.state == const.DARAJA_ACCEPTED:
            # begin_send cleared the deadline: one set since is a QueueTimeOut
            # that overtook this answer, and its status query stays due now.
            overtaken = bool(payment.daraja_deadline)
            vals = {
                "mpesa_state": const.DARAJA_ACCEPTED,
                "state": const.G2P_STATE_SENT,
                "mpesa_next_attempt_at": False,
                "daraja_deadline": payment.daraja_deadline
                if overtaken
                else now + self.result_wait,
                # A new wait for its result: status queries start again.
                "daraja_status_queries": 0,
            }
            if not overtaken:
                vals["mpesa_failure_reason"] = False
            if not payment.daraja_accepted_at:
                vals["daraja_accepted_at"] = now
            conversation = getattr(outcome, "conversation_id", None)
            if conversation:
                vals["daraja_conversation_id"] = conversation
            payment.write(vals)
            self.batch_ids.add(self.batch_of.get(payment.id) or payment.batch_id.id)
            return
        self.apply_decision(
            payment,
            decision.state,
            decision.reason,
            decision.retry_after,
            item.amount if item else None,
        )
        if decision.state == const.IN_DOUBT:
            # Never in doubt for long: the status cron asks Daraja right away.
            payment.write({"daraja_deadline": now, "daraja_status_queries": 0})
            self.in_doubt_names.append(payment.name)

    def requeue_stale(self, payment):
        """A SENDING row of a dead worker: send it again (same OCID, so safe)."""
        self.apply_decision(
            payment,
            const.QUEUED,
            _(
                "the worker sending it stopped before recording Daraja's answer; "
                "sent again with the same OriginatorConversationID"
            ),
        )
