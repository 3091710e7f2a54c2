import logging
from uuid import uuid4

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.queue_job.delay import group

from .. import const

_logger = logging.getLogger(__name__)

# The bases prepare synchronously below this many entitlements (upstream's
# MAX_PAYMENTS_FOR_SYNC_PREPARE); read from the model when it has it.
SYNC_PREPARE_LIMIT = 200


class G2PFilesPaymentManagerChunks(models.Model):
    """Large cycles: payments and vouchers made by parallel chunk jobs.

    The real base queues ONE job for a whole cycle from 200 entitlements,
    which a worker's time and memory limits kill somewhere around a few
    thousand vouchers, losing everything. Here the click plans chunks of
    ``voucher_chunk_size`` entitlements (whole batches each) and queues one
    job per chunk on the ``root.g2p_payment_files`` channel, so every worker
    of every server takes part; a last job unlocks the cycle.

    A chunk job issues its planned payments and batches in bulk: the real
    base's ``_prepare_payments`` makes them one at a time (two creates and
    three writes per payment). They are the records the bases make: same
    names, amounts, account number snapshot, batch fields and links.
    """

    _inherit = "g2p.program.payment.manager.file"

    voucher_chunk_size = fields.Integer(
        string="Vouchers per Job",
        default=const.VOUCHER_CHUNK_SIZE_DEFAULT,
        required=True,
        help="Large cycles are prepared by background jobs of this many payments "
        "each, run in parallel. Whole batches stay in one job.",
    )

    @api.constrains("voucher_chunk_size")
    def _check_voucher_chunk_size(self):
        for manager in self:
            if manager.voucher_chunk_size < 1:
                raise ValidationError(
                    _(
                        "File Payment Manager %(name)s: Vouchers per Job must be at "
                        "least 1 (%(default)s is a good value).",
                        name=manager.name,
                        default=const.VOUCHER_CHUNK_SIZE_DEFAULT,
                    )
                )

    def _sync_prepare_limit(self):
        return getattr(self, "MAX_PAYMENTS_FOR_SYNC_PREPARE", SYNC_PREPARE_LIMIT)

    def _approved_entitlements_domain(self, cycle, entitlements=None):
        domain = [("cycle_id", "=", cycle.id), ("state", "=", "approved")]
        if entitlements:
            domain.append(("id", "in", entitlements.ids))
        return domain

    def prepare_payments(self, cycle, entitlements=None):
        self.ensure_one()
        self._check_can_prepare_files()
        cycle._check_no_voucher_run_pending()
        count = self.env["g2p.entitlement"].search_count(
            self._approved_entitlements_domain(cycle, entitlements)
        )
        if count < self._sync_prepare_limit():
            return super().prepare_payments(cycle, entitlements=entitlements)
        # Not through super: it would load every entitlement of the cycle in
        # this request only to count them.
        chunks = self._prepare_payments_async(cycle, entitlements, count)
        if not chunks:
            return self._files_notification(
                _(
                    "No new payments: every approved entitlement of cycle %(cycle)s "
                    "already has a payment that has not failed.",
                    cycle=cycle.name,
                ),
                kind="danger",
            )
        return self._files_notification(
            _(
                "Preparing %(count)s payments and their vouchers in %(jobs)s "
                "background jobs. The cycle shows the progress; it is unlocked "
                "when all are done.",
                count=sum(chunks.mapped("entitlement_count")),
                jobs=len(chunks),
            ),
            sticky=True,
        )

    def _files_notification(self, message, kind="success", sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Payment"),
                "message": message,
                "sticky": sticky,
                "type": kind,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _prepare_payments_async(self, cycle, entitlements, entitlements_count):
        """Plan the chunks, lock the cycle and queue one job per chunk."""
        self.ensure_one()
        chunks = self._plan_voucher_chunks(cycle, entitlements)
        if not chunks:
            return chunks
        cycle.message_post(
            body=_(
                "Prepare payments started for %(count)s entitlements in %(jobs)s "
                "jobs of up to %(size)s.",
                count=sum(chunks.mapped("entitlement_count")),
                jobs=len(chunks),
                size=self.voucher_chunk_size,
            )
        )
        cycle.write(
            {
                "locked": True,
                "locked_reason": _("Prepare payments for entitlements in cycle."),
                "voucher_run_ref": chunks[0].run_ref,
            }
        )
        total = len(chunks)
        jobs = []
        for chunk in chunks:
            jobs.append(
                chunk.delayable(
                    channel=const.VOUCHER_CHANNEL,
                    description=_(
                        "Vouchers %(seq)s/%(total)s of cycle %(cycle)s",
                        seq=chunk.sequence,
                        total=total,
                        cycle=cycle.name,
                    ),
                )._run()
            )
        finish = self.delayable(
            channel=const.VOUCHER_CHANNEL,
            description=_("Finish vouchers of cycle %(cycle)s", cycle=cycle.name),
        )._finish_voucher_run(cycle, chunks[0].run_ref)
        group(*jobs).on_done(finish).delay()
        for chunk, job in zip(chunks, jobs, strict=True):
            chunk.job_uuid = job._generated_job.uuid
        return chunks

    def _plan_voucher_chunks(self, cycle, entitlements=None):
        """Chunks of payable entitlements, split exactly as one run would batch
        them: by batch tag, then ``max_batch_size``, whole batches per chunk."""
        self.ensure_one()
        Entitlement = self.env["g2p.entitlement"]
        payable = Entitlement.search(
            self._approved_entitlements_domain(cycle, entitlements)
            + [("payment_ids", "not any", [("status", "!=", "failed")])],
            order="id",
        ).ids
        groups = []  # (tag id or False, [entitlement ids]) per future batch
        if self.create_batch:
            remaining = payable
            for tag in self.batch_tag_ids:
                if not remaining:
                    break
                if self._is_catch_all_tag(tag):
                    tagged, remaining = remaining, []
                else:
                    domain = self.env["base.programs.manager"]._safe_eval(tag.domain)
                    matched = set(
                        Entitlement.search([("id", "in", remaining)] + domain).ids
                    )
                    tagged = [eid for eid in remaining if eid in matched]
                    remaining = [eid for eid in remaining if eid not in matched]
                size = tag.max_batch_size or len(tagged)
                groups += [
                    (tag.id, tagged[i : i + size]) for i in range(0, len(tagged), size)
                ]
        elif payable:
            size = self.voucher_chunk_size
            groups = [
                (False, payable[i : i + size]) for i in range(0, len(payable), size)
            ]
        return self._create_chunks(cycle, groups)

    def _create_chunks(self, cycle, groups):
        plans, current, current_size = [], [], 0
        for tag_id, ids in groups:
            if current and current_size + len(ids) > self.voucher_chunk_size:
                plans.append(current)
                current, current_size = [], 0
            current.append([tag_id, ids])
            current_size += len(ids)
        if current:
            plans.append(current)
        run_ref = str(uuid4())
        return self.env["g2p.payment.file.chunk"].create(
            [
                {
                    "manager_id": self.id,
                    "cycle_id": cycle.id,
                    "run_ref": run_ref,
                    "sequence": seq,
                    "plan": plan,
                    "entitlement_count": sum(len(ids) for _tag, ids in plan),
                }
                for seq, plan in enumerate(plans, start=1)
            ]
        )

    def _finish_voucher_run(self, cycle, run_ref):
        """Last job of a run: unlock the cycle and post what was made."""
        self.ensure_one()
        chunks = self.env["g2p.payment.file.chunk"].search([("run_ref", "=", run_ref)])
        started = min(chunks.mapped("create_date"), default=fields.Datetime.now())
        seconds = (fields.Datetime.now() - started).total_seconds()
        message = _(
            "Prepared %(payments)s payments and %(files)s voucher files in %(jobs)s "
            "jobs (%(seconds)s s).",
            payments=sum(chunks.mapped("payment_count")),
            files=sum(chunks.mapped("file_count")),
            jobs=len(chunks),
            seconds=round(seconds),
        )
        self.mark_job_as_done(cycle, message)
        return message

    # Issuing a chunk's payments --------------------------------------------

    def _issue_planned_payments(self, cycle, plan):
        """(payments, batches) of ``plan``: [[tag id or False, [entitlement
        ids]], ...], one group per batch (no batch for a group without tag).

        Entitlements that meanwhile stopped being payable (no longer
        approved, or paid by a payment that has not failed) are left out.
        """
        self.ensure_one()
        Entitlement = self.env["g2p.entitlement"]
        groups = []
        for tag_id, ids in plan or []:
            entitlements = Entitlement.browse(ids).exists()
            # One query for every status and account number of the group.
            entitlements.mapped("payment_ids.status")
            entitlements.mapped("partner_id.bank_ids.acc_number")
            payable = entitlements.filtered(
                lambda e: (
                    e.state == const.ENTITLEMENT_STATE_APPROVED
                    and all(
                        p.status == const.PAYMENT_STATUS_FAILED for p in e.payment_ids
                    )
                )
            )
            if payable:
                groups.append((tag_id if self.create_batch else False, payable))
        now = fields.Datetime.now()
        batches = self.env["g2p.payment.batch"].create(
            [
                {
                    "name": str(uuid4()),
                    "cycle_id": cycle.id,
                    "stats_datetime": now,
                    "tag_id": tag_id,
                }
                for tag_id, _payable in groups
                if tag_id
            ]
        )
        batch_iter = iter(batches)
        group_batches = [next(batch_iter) if tag_id else None for tag_id, _p in groups]
        payments = self.env["g2p.payment"].create(
            [
                self._planned_payment_vals(entitlement, batch)
                for (_tag, payable), batch in zip(groups, group_batches, strict=True)
                for entitlement in payable
            ]
        )
        # Both bases also list a batch's payments in a many2many; payments
        # were created group after group.
        start = 0
        for (_tag, payable), batch in zip(groups, group_batches, strict=True):
            end = start + len(payable)
            if batch:
                batch.payment_ids = [fields.Command.set(payments[start:end].ids)]
            start = end
        return payments, batches

    def _planned_payment_vals(self, entitlement, batch):
        return {
            "name": str(uuid4()),
            "entitlement_id": entitlement.id,
            "cycle_id": entitlement.cycle_id.id,
            "amount_issued": entitlement.initial_amount,
            "payment_fee": entitlement.transfer_fee,
            "state": const.PAYMENT_STATE_ISSUED,
            # The beneficiary's first bank account at issue time, as the bases.
            "account_number": entitlement.partner_id.bank_ids[:1].acc_number or False,
            "batch_id": batch.id if batch else False,
        }
