"""Scheduling: the cron that sends due batches, one bounded pass per manager.

A pass claims queued payments a chunk at a time, under a session-level
advisory lock per agent account (sends of one agent are serialised), within
a time budget, and re-triggers the cron while work remains.  The sending
itself is the Odoo-free engine ``..mpesa.dispatch`` over ``OdooDispatchStore``.
"""

import logging
import time
import zlib
from contextlib import contextmanager

from odoo import _, api, fields, models
from odoo.tools import config

from ..mpesa import const, dispatch
from ..mpesa.errors import ConfigError, MpesaError
from ..mpesa.run import RunResult, RunSummary
from .mpesa_dispatch_store import OdooDispatchStore

_logger = logging.getLogger(__name__)

# Queued payments of a manager's due batches whose retry time has come.  Two
# explicit variants: claim a chunk (row-locked, skipping rows other workers
# hold), or just tell whether anything is claimable.
CLAIMABLE_FROM_WHERE = """
      FROM g2p_payment p
      JOIN g2p_payment_batch b ON b.id = p.batch_id
     WHERE b.mpesa_manager_id = %(manager)s
       AND b.mpesa_due
       AND p.mpesa_state = %(queued)s
       AND (p.mpesa_next_attempt_at IS NULL
            OR p.mpesa_next_attempt_at <= %(now)s)
"""
CLAIM_SQL = (
    "SELECT p.id"
    + CLAIMABLE_FROM_WHERE
    + """
     ORDER BY b.id, p.id
     LIMIT %(limit)s
       FOR UPDATE OF p SKIP LOCKED
"""
)
ANY_CLAIMABLE_SQL = "SELECT 1" + CLAIMABLE_FROM_WHERE + " LIMIT 1"
NEXT_RETRY_SQL = """
    SELECT min(p.mpesa_next_attempt_at)
      FROM g2p_payment p
      JOIN g2p_payment_batch b ON b.id = p.batch_id
     WHERE b.mpesa_manager_id = %(manager)s
       AND b.mpesa_due
       AND p.mpesa_state = %(queued)s
"""


def _signed32(value):
    return value - (1 << 32) if value >= (1 << 31) else value


class G2PPaymentManagerSimpleMpesaCron(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------- the cron
    @api.model
    def _mpesa_time_budget(self):
        if self.env.context.get("mpesa_time_budget"):
            return float(self.env.context["mpesa_time_budget"])
        limit = config.get("limit_time_real_cron") or 0
        if not limit or limit <= 0:
            limit = config.get("limit_time_real") or 120
        return min(
            const.CRON_BUDGET_MAX,
            max(limit * const.CRON_BUDGET_SHARE, const.CRON_BUDGET_MIN),
        )

    def _mpesa_trigger_cron(self, at=None):
        cron = self.env.ref(const.CRON_XMLID, raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(at=at)

    @api.model
    def _cron_disburse_due_batches(self):
        """Scheduled job: send due batches.

        Bounded per run (time budget, payments per manager); re-triggers itself
        while work remains.
        """
        deadline = time.monotonic() + self._mpesa_time_budget()
        Batch = self.env["g2p.payment.batch"].sudo()
        auto = Batch.search(
            [
                ("mpesa_manager_id.mpesa_auto_disburse", "=", True),
                ("mpesa_due", "=", False),
                ("batch_has_completed", "=", False),
            ]
        )
        for manager in auto.mpesa_manager_id:
            manager._mpesa_queue_batches(
                auto.filtered(lambda b, m=manager: b.mpesa_manager_id == m)
            )
        due = Batch.search(
            [("mpesa_due", "=", True), ("batch_has_completed", "=", False)]
        )
        results = []
        cut_short = False
        for manager in due.mpesa_manager_id.sorted("id"):
            if time.monotonic() >= deadline:
                cut_short = True
                break
            results.append(manager._mpesa_disburse(deadline))
        summary = RunSummary.of(results, cut_short=cut_short)
        if summary.more:
            self._mpesa_trigger_cron()
        elif summary.retry_at:
            self._mpesa_trigger_cron(at=summary.retry_at)
        return True

    # ------------------------------------------------------ the agent's lock
    def _mpesa_agent_key(self):
        self.ensure_one()
        identity = "%s|%s" % (
            (self.sudo().auth_endpoint_url or "").strip().lower(),
            (self.sudo().username or "").strip().lower(),
        )
        return _signed32(zlib.crc32(identity.encode("utf-8")))

    def _mpesa_same_agent_managers(self):
        self.ensure_one()
        key = self._mpesa_agent_key()
        return self.sudo().search([]).filtered(lambda m: m._mpesa_agent_key() == key)

    @contextmanager
    def _mpesa_agent_lock(self):
        """Session-level advisory lock serialising sends of one agent account.

        Held on a dedicated connection so it survives the commits of the run and
        disappears with the worker if it dies (then its SENDING rows are stale).
        """
        key = self._mpesa_agent_key()
        lock_cr = self.env.registry.cursor()
        acquired = False
        try:
            lock_cr.execute(
                "SELECT pg_try_advisory_lock(%s, %s)",
                (const.AGENT_LOCK_NAMESPACE, key),
            )
            acquired = lock_cr.fetchone()[0]
            yield acquired
        finally:
            try:
                if acquired:
                    lock_cr.execute(
                        "SELECT pg_advisory_unlock(%s, %s)",
                        (const.AGENT_LOCK_NAMESPACE, key),
                    )
            except Exception:
                _logger.warning("Could not release the Mpesa agent lock", exc_info=True)
            finally:
                lock_cr.close()

    # ---------------------------------------------------------------- claims
    def _mpesa_claim_params(self, limit):
        return {
            "manager": self.id,
            "queued": const.QUEUED,
            "now": fields.Datetime.now(),
            "limit": limit,
        }

    def _mpesa_claimable_now(self):
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(ANY_CLAIMABLE_SQL, self._mpesa_claim_params(1))
        return bool(self.env.cr.fetchone())

    def _mpesa_next_retry_at(self):
        self.ensure_one()
        self.env.cr.execute(
            NEXT_RETRY_SQL, {"manager": self.id, "queued": const.QUEUED}
        )
        return self.env.cr.fetchone()[0]

    def _mpesa_iter_items(self, store, limit):
        """Claim queued payments a chunk at a time (lazily, between two commits)."""
        self.ensure_one()
        Payment = self.env["g2p.payment"]
        customer_type = self.customer_type
        claimed = 0
        while claimed < limit:
            self.env.flush_all()
            # Drop what earlier chunks cached: memory stays flat over a long
            # run, and the chunk is read fresh from the database.
            self.env.invalidate_all(flush=False)
            self.env.cr.execute(
                CLAIM_SQL,
                self._mpesa_claim_params(min(const.CLAIM_CHUNK, limit - claimed)),
            )
            ids = [row[0] for row in self.env.cr.fetchall()]
            if not ids:
                return
            # Every COMMIT clears the ORM cache: resolve the whole chunk now,
            # while one prefetching read serves all its payments and payees.
            resolved = []
            for payment in Payment.browse(ids):
                try:
                    resolved.append(
                        (
                            payment,
                            self._mpesa_whole_amount(payment),
                            self._mpesa_payee_account(payment),
                            payment.mpesa_attempt_count,
                            payment.batch_id.id,
                            None,
                        )
                    )
                except MpesaError as exc:
                    resolved.append((payment, None, None, 0, None, str(exc)))
            for payment, amount, account, attempts, batch_id, problem in resolved:
                claimed += 1
                if problem is not None:
                    # The chunk's row locks ended with its first COMMIT: fail
                    # it only if it is still queued.
                    if store.lock_if_queued(payment):
                        store.fail_locally(payment, problem)
                    continue
                store.batch_of[payment.id] = batch_id
                yield dispatch.DispatchItem(
                    key=payment.id,
                    amount=amount,
                    account_no=account,
                    customer_type=customer_type,
                    attempts=attempts,
                )

    def _mpesa_sweep_stale_sending(self):
        """SENDING rows of this agent while we hold its lock: their worker died."""
        self.ensure_one()
        managers = self._mpesa_same_agent_managers()
        stale = self.env["g2p.payment"].search(
            [
                ("mpesa_state", "=", const.SENDING),
                ("batch_id.mpesa_manager_id", "in", managers.ids),
            ]
        )
        if not stale:
            return stale
        store = OdooDispatchStore(self)
        reason = _(
            "The worker sending this payment stopped before recording the gateway's "
            "answer (restart or crash); the deposit may have been applied."
        )
        for payment in stale:
            store.apply_decision(
                payment, dispatch.recover_stale_state(const.SENDING), reason
            )
        self._mpesa_post(
            _(
                "%(count)s payments were found in flight from a stopped worker and are "
                "now in doubt (never re-sent automatically): %(names)s. Reconcile them "
                "from the payment form.",
                count=len(stale),
                names=", ".join(stale.mapped("name")),
            )
        )
        self.env["g2p.payment.batch"].browse(store.batch_ids)._mpesa_refresh_figures()
        self._mpesa_commit()
        return stale

    # -------------------------------------------------------------- one pass
    def _mpesa_report_problem(self, problem):
        """Chatter note for a systemic problem, once per distinct problem."""
        self.ensure_one()
        if problem != self.mpesa_last_error:
            self.mpesa_last_error = problem
            self._mpesa_post(
                _("Mpesa disbursement stopped: %(problem)s", problem=problem)
            )

    def _mpesa_disburse(self, deadline, limit=None):
        """One bounded pass over this manager's due payments (call on sudo).

        The same pass for both gateways; what differs is the client, how
        SENDING rows a dead worker left are handled, and the sending engine
        (Daraja B2C: see payment_manager_simple_mpesa_daraja_send).
        Returns a :class:`RunResult`.
        """
        self.ensure_one()
        if self.gateway_type == const.GATEWAY_DARAJA_B2C:
            make_client, sweep, send = (
                self._daraja_client,
                self._daraja_requeue_stale_sending,
                self._daraja_run_send,
            )
        else:
            make_client, sweep, send = (
                self._mpesa_client,
                self._mpesa_sweep_stale_sending,
                self._mpesa_run_dispatch,
            )
        try:
            client = make_client()
        except ConfigError as exc:
            self._mpesa_report_problem(str(exc))
            self._mpesa_commit()
            return RunResult(aborted=str(exc))
        try:
            with self._mpesa_agent_lock() as acquired:
                if not acquired:
                    # Another worker sends for this agent; it re-triggers the
                    # cron itself while work remains.
                    _logger.info(
                        "Mpesa manager %s: its agent is busy in another worker", self.id
                    )
                    return RunResult(busy=True)
                # Start a fresh transaction: rows committed by the worker that
                # held the lock before us must be visible (REPEATABLE READ).
                self._mpesa_commit()
                sweep()
                report = None
                if self._mpesa_claimable_now():
                    report = send(client, deadline, limit)
                aborted = report is not None and report.aborted
                more = bool(report is not None and report.stopped_by_deadline) or (
                    not aborted and self._mpesa_claimable_now()
                )
                result = RunResult.from_report(
                    report, more=more, retry_at=self._mpesa_next_retry_at()
                )
                self._mpesa_commit()
                return result
        finally:
            client.close()

    def _mpesa_run_dispatch(self, client, deadline, limit):
        """Run the engine over the claimable payments; returns its DispatchReport."""
        ledger = None
        if client.balance_url:
            try:
                ledger = dispatch.BalanceLedger(expected=client.balance())
            except MpesaError as exc:
                _logger.info(
                    "Mpesa balance unavailable for manager %s: %s", self.id, exc
                )
        store = OdooDispatchStore(self, ledger)
        report = dispatch.dispatch(
            self._mpesa_iter_items(store, limit or self.mpesa_payments_per_run),
            client,
            store,
            max_attempts=self.mpesa_max_attempts or const.DEFAULT_MAX_ATTEMPTS,
            deadline=deadline,
            ledger=ledger,
        )
        if ledger is not None and ledger.expected is not None:
            # Written once per run, not per payment: the manager row is also
            # edited from the UI, and a write conflict must not cost a result.
            self.write(
                {
                    "mpesa_expected_balance": ledger.expected,
                    "mpesa_expected_balance_at": fields.Datetime.now(),
                }
            )
        batches = self.env["g2p.payment.batch"].browse(store.batch_ids)
        batches._mpesa_refresh_figures()
        if report.aborted:
            self._mpesa_report_problem(report.aborted)
        elif self.mpesa_last_error:
            self.mpesa_last_error = False
        if report.processed:
            self._mpesa_post(
                _(
                    "Mpesa run: %(paid)s paid, %(failed)s failed, %(queued)s to retry "
                    "later, %(doubt)s in doubt.",
                    paid=report.counts.get(const.PAID, 0),
                    failed=report.counts.get(const.FAILED, 0),
                    queued=report.counts.get(const.QUEUED, 0),
                    doubt=report.counts.get(const.IN_DOUBT, 0),
                )
            )
        _logger.info("Mpesa manager %s run: %s", self.id, report.as_dict())
        self._mpesa_commit()
        return report
