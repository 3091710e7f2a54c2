"""Prepare of the Mpesa manager: payments issued in bulk, big cycles in chunk jobs.

``_prepare_payments`` is the one worker: the click runs it below the base's
threshold (200 entitlements), and from there on ``_prepare_payments_async``
plans the cycle's batches once and queues ``_prepare_payments`` over chunks
of whole batches on the addon's own channel, in parallel, with a last job
that unlocks the cycle and posts a summary.  A chunk job is idempotent: it
row-locks its entitlements (NOWAIT) and touches the ones it pays, so a
retried, repeated or concurrent run of the same chunk either sees the
payments already made or gets a lock / serialization error that queue_job
retries.  Under REPEATABLE READ a lock alone would not do: a run whose
snapshot predates the other run's COMMIT would not see its payments, but it
does fail on the rows that run UPDATEd.
"""

import logging
from uuid import uuid4

import psycopg2

from odoo import Command, _, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY

from odoo.addons.queue_job.delay import group

from ..mpesa import const, plan

_logger = logging.getLogger(__name__)

# Row locks of one run's entitlements, in id order; NOWAIT: a concurrent run
# holding them makes this one fail at once (queue_job retries it).
LOCK_ENTITLEMENTS_SQL = """
    SELECT id FROM g2p_entitlement
     WHERE id = ANY(%(ids)s)
     ORDER BY id
       FOR UPDATE NOWAIT
"""
# Approved entitlements that have no payment, or only failed ones.
PAYABLE_SQL = """
    SELECT e.id FROM g2p_entitlement e
     WHERE e.id = ANY(%(ids)s)
       AND e.state = %(approved)s
       AND NOT EXISTS (
           SELECT 1 FROM g2p_payment p
            WHERE p.entitlement_id = e.id
              AND p.status IS DISTINCT FROM %(failed)s)
     ORDER BY e.id
"""
# Written on the entitlements a run pays, in that run's transaction: a
# concurrent run locking them after this COMMIT gets a serialization error.
TOUCH_ENTITLEMENTS_SQL = """
    UPDATE g2p_entitlement
       SET write_uid = %(uid)s, write_date = (now() AT TIME ZONE 'UTC')
     WHERE id = ANY(%(ids)s)
"""
COUNT_PREPARED_SQL = """
    SELECT count(DISTINCT p.batch_id), count(*)
      FROM g2p_payment p
      JOIN g2p_payment_batch b ON b.id = p.batch_id
     WHERE b.cycle_id = %(cycle)s AND b.mpesa_manager_id = %(manager)s
"""


class G2PPaymentManagerSimpleMpesaPrepare(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------- entry
    def prepare_payments(self, cycle, entitlements=None):
        # Checked here, before the base may hand the work to a queue_job.
        self._mpesa_check_dispatchable()
        return super().prepare_payments(cycle, entitlements=entitlements)

    def _prepare_payments(self, cycle, entitlements):
        """Issue the payments of ``entitlements`` not paid yet, batched by tag.

        Runs on the click, and as each chunk job of ``_prepare_payments_async``
        (also when retried or run twice).  Returns ``(payments, batches)``,
        each None when empty, as both bases do.
        """
        self.ensure_one()
        if not self.env.context.get("job_uuid"):
            return self._mpesa_prepare(cycle, entitlements)
        try:
            return self._mpesa_prepare(cycle, entitlements)
        except psycopg2.OperationalError as exc:
            if exc.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                self._mpesa_prepare_failed(cycle, exc)
            raise
        except Exception as exc:
            # Not retried by queue_job: the done job would never run.
            self._mpesa_prepare_failed(cycle, exc)
            raise

    def _mpesa_prepare(self, cycle, entitlements):
        self._mpesa_check_dispatchable()
        if not entitlements:
            return None, None
        payable = self._mpesa_payable_ids(entitlements.ids, lock=True)
        batches_plan = self._mpesa_batch_plan(payable)
        if not batches_plan:
            return None, None
        Payment = self.env["g2p.payment"]
        Batch = self.env["g2p.payment.batch"]
        payment_ids, batch_ids = [], []
        # A slice at a time, with the cache emptied in between: memory stays
        # flat however many entitlements one call gets.
        for part in plan.group_batches(batches_plan, const.PREPARE_CREATE_SLICE):
            payments, batches = self._mpesa_issue(cycle, part)
            payment_ids += payments.ids
            batch_ids += batches.ids
            self.env.flush_all()
            self.env.invalidate_all()
        self.env.cr.execute(
            TOUCH_ENTITLEMENTS_SQL, {"ids": list(payable), "uid": self.env.uid}
        )
        self.env["g2p.entitlement"].browse(payable).invalidate_recordset(
            ["write_uid", "write_date"]
        )
        if self.mpesa_auto_disburse:
            self._mpesa_trigger_cron()
        _logger.info(
            "Mpesa manager %s issued %s payments in %s batches for cycle %s",
            self.id,
            len(payment_ids),
            len(batch_ids),
            cycle.id,
        )
        return Payment.browse(payment_ids), Batch.browse(batch_ids)

    # ------------------------------------------------------------ planning
    def _mpesa_payable_ids(self, entitlement_ids, lock=False):
        """Ids (ascending) of the entitlements that still need a payment.

        With ``lock``, their rows are locked first for the rest of the
        transaction (LockNotAvailable if another run holds one).
        """
        ids = sorted(set(entitlement_ids))
        if not ids:
            return []
        # The SQL below reads what pending ORM writes may still hold.
        self.env["g2p.payment"].flush_model(["entitlement_id", "status"])
        self.env["g2p.entitlement"].flush_model(["state"])
        cr = self.env.cr
        if lock:
            cr.execute(LOCK_ENTITLEMENTS_SQL, {"ids": ids})
        cr.execute(
            PAYABLE_SQL,
            {
                "ids": ids,
                "approved": const.G2P_ENTITLEMENT_APPROVED,
                "failed": const.G2P_STATUS_FAILED,
            },
        )
        return [row[0] for row in cr.fetchall()]

    def _mpesa_tag_domain(self, tag):
        """The evaluated domain of a batch tag; a clear error when unusable."""
        problem = None
        try:
            domain = self._safe_eval(tag.domain or "[]")
            if not isinstance(domain, list | tuple):
                problem = _("it is not a list")
            else:
                # Builds the query without running it: unknown fields fail here.
                self.env["g2p.entitlement"]._search(list(domain))
        except Exception as exc:  # any evaluation error, said to the officer
            problem = str(exc)
        if problem is not None:
            raise UserError(
                _(
                    "Payment manager %(manager)s cannot prepare payments: the "
                    "domain %(domain)s of batch tag %(tag)s cannot be used on "
                    "entitlements (%(problem)s). To fix it, write a list such as "
                    "[('initial_amount', '>', 100)] (or [] for everyone) on the "
                    "batch tag.",
                    manager=self.name,
                    domain=tag.domain,
                    tag=tag.name,
                    problem=problem,
                )
            )
        return list(domain)

    def _mpesa_batch_plan(self, entitlement_ids):
        """The batches a Prepare of ``entitlement_ids`` makes, in tag order.

        Each entitlement goes to the first tag whose domain matches it, in id
        order, cut into batches of the tag's maximum size (a list of
        :class:`~..mpesa.plan.PlannedBatch` whose tags are tag records).
        """
        Entitlement = self.env["g2p.entitlement"]
        remaining = list(entitlement_ids)
        groups = []
        for tag in self.batch_tag_ids.sorted(lambda t: (t.order, t.id)):
            if not remaining:
                break
            domain = self._mpesa_tag_domain(tag)
            if domain:
                matched = set(
                    Entitlement.search(
                        expression.AND([[("id", "in", remaining)], domain])
                    ).ids
                )
                tagged = [i for i in remaining if i in matched]
                remaining = [i for i in remaining if i not in matched]
            else:
                tagged, remaining = remaining, []
            groups.append((tag, tag.max_batch_size, tagged))
        return plan.batch_plan(groups)

    # ------------------------------------------------------------- writing
    def _mpesa_issue(self, cycle, batches_plan):
        """Create the planned batches and their payments, in bulk."""
        Entitlement = self.env["g2p.entitlement"]
        entitlements = Entitlement.browse([i for b in batches_plan for i in b.ids])
        # One prefetching read serves every payment's account number snapshot.
        entitlements.mapped("partner_id.bank_ids.acc_number")
        batch_vals = {
            "cycle_id": cycle.id,
            "stats_datetime": fields.Datetime.now(),
            "mpesa_manager_id": self.id,
        }
        if self.mpesa_auto_disburse:
            batch_vals.update(mpesa_due=True, mpesa_due_since=fields.Datetime.now())
        batches = self.env["g2p.payment.batch"].create(
            [
                dict(batch_vals, name=str(uuid4()), tag_id=planned.tag.id)
                for planned in batches_plan
            ]
        )
        by_id = {entitlement.id: entitlement for entitlement in entitlements}
        payments = self.env["g2p.payment"].create(
            [
                self._mpesa_payment_vals(by_id[entitlement_id], batch)
                for batch, planned in zip(batches, batches_plan, strict=True)
                for entitlement_id in planned.ids
            ]
        )
        # Both bases also list a batch's payments in a many2many (as server
        # code: users cannot relink the payments of an Mpesa batch).
        start = 0
        for batch, planned in zip(batches, batches_plan, strict=True):
            end = start + len(planned.ids)
            batch.sudo().payment_ids = [Command.set(payments[start:end].ids)]
            start = end
        return payments, batches

    def _mpesa_payment_vals(self, entitlement, batch):
        return {
            "name": str(uuid4()),
            "entitlement_id": entitlement.id,
            "cycle_id": entitlement.cycle_id.id,
            "amount_issued": entitlement.initial_amount,
            "payment_fee": entitlement.transfer_fee,
            "state": const.G2P_STATE_ISSUED,
            # Snapshot of the beneficiary's first bank account, as both bases.
            "account_number": entitlement.partner_id.bank_ids[:1].acc_number or False,
            "batch_id": batch.id,
            "mpesa_state": const.QUEUED,
        }

    # ---------------------------------------------------------- chunk jobs
    def _prepare_payments_async(self, cycle, entitlements, entitlements_count):
        """Queue the cycle's Prepare as chunk jobs of whole batches, in parallel.

        Replaces the base's single job, which cannot issue a national cycle
        within a worker's time limit.
        """
        self.ensure_one()
        payable = self._mpesa_payable_ids(entitlements.ids)
        chunks = plan.chunk_plan(
            self._mpesa_batch_plan(payable), self.mpesa_prepare_chunk_size
        )
        if not chunks:
            cycle.message_post(
                body=_(
                    "Prepare Payments: none of the %(count)s approved entitlements "
                    "needs a new payment (each has one that has not failed).",
                    count=entitlements_count,
                )
            )
            return
        cycle.message_post(
            body=_(
                "Preparing %(payments)s payments for %(count)s approved "
                "entitlements in %(jobs)s queued jobs; the cycle stays locked "
                "until the last one is done.",
                payments=len(payable),
                count=entitlements_count,
                jobs=len(chunks),
            )
        )
        cycle.write(
            {
                "locked": True,
                "locked_reason": _("Preparing payments in queued jobs."),
            }
        )
        Entitlement = self.env["g2p.entitlement"]
        jobs = [
            self.delayable(
                description=_(
                    "Mpesa: prepare payments of cycle %(cycle)s, part %(part)s of "
                    "%(parts)s",
                    cycle=cycle.name,
                    part=number,
                    parts=len(chunks),
                )
            )._prepare_payments(cycle, Entitlement.browse(ids))
            for number, ids in enumerate(chunks, start=1)
        ]
        done = self.delayable(
            description=_(
                "Mpesa: payments of cycle %(cycle)s prepared", cycle=cycle.name
            )
        )._mpesa_prepare_done(cycle, len(chunks))
        group(*jobs).on_done(done).delay()

    def _mpesa_prepare_failed(self, cycle, error):
        """A chunk job failed for good: unlock the cycle and say why.

        In a transaction of its own: the job's is rolled back.
        """
        # The job's transaction may be aborted: read nothing through it.
        with self.env.registry.cursor() as cr:
            own_cycle = self.env(cr=cr)["g2p.cycle"].browse(cycle.id)
            own_cycle.write({"locked": False, "locked_reason": False})
            own_cycle.message_post(
                body=_(
                    "A queued job preparing payments of cycle %(cycle)s failed: "
                    "%(error)s. The payments of the other jobs are kept. Fix the "
                    "cause, then click Prepare Payments again: entitlements that "
                    "already have a payment are skipped.",
                    cycle=own_cycle.name,
                    error=str(error),
                )
            )

    def _mpesa_prepare_done(self, cycle, jobs):
        """Last job of a chunked Prepare: summary in the chatter, cycle unlocked."""
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(COUNT_PREPARED_SQL, {"cycle": cycle.id, "manager": self.id})
        batches, payments = self.env.cr.fetchone()
        self.mark_job_as_done(
            cycle,
            _(
                "Payments prepared by %(jobs)s queued jobs: the cycle has "
                "%(payments)s Mpesa payments in %(batches)s batches.",
                jobs=jobs,
                payments=payments,
                batches=batches,
            ),
        )
