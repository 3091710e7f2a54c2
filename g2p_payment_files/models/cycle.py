from odoo import _, fields, models
from odoo.exceptions import UserError

from .. import const


class G2PCycle(models.Model):
    _inherit = "g2p.cycle"

    voucher_chunk_ids = fields.One2many("g2p.payment.file.chunk", "cycle_id")
    # The latest Prepare Payments run made by chunk jobs (see the chunks).
    voucher_run_ref = fields.Char(readonly=True, copy=False)
    voucher_jobs_total = fields.Integer(compute="_compute_voucher_progress")
    voucher_jobs_done = fields.Integer(compute="_compute_voucher_progress")
    voucher_jobs_failed = fields.Integer(compute="_compute_voucher_progress")
    voucher_entitlements_total = fields.Integer(compute="_compute_voucher_progress")
    voucher_payments_done = fields.Integer(compute="_compute_voucher_progress")
    voucher_progress = fields.Float(compute="_compute_voucher_progress")
    # Vouchers are handed over out of band: the form hides Send Payments.
    voucher_by_files = fields.Boolean(
        "Paid by Vouchers", compute="_compute_voucher_by_files"
    )

    def _compute_voucher_by_files(self):
        for cycle in self:
            wrappers = cycle.program_id.payment_managers
            ref = wrappers[:1].manager_ref_id if wrappers else None
            cycle.voucher_by_files = bool(ref) and ref._name == const.FILE_MANAGER_MODEL

    def _compute_voucher_progress(self):
        groups = self.env["g2p.payment.file.chunk"]._read_group(
            [
                ("cycle_id", "in", self.ids),
                ("run_ref", "in", self.mapped("voucher_run_ref")),
            ],
            ["cycle_id", "run_ref", "state"],
            ["__count", "entitlement_count:sum", "payment_count:sum"],
        )
        stats = {}
        for cycle, run_ref, state, count, entitlements, payments in groups:
            if run_ref != cycle.voucher_run_ref:
                continue
            stats.setdefault(cycle.id, {})[state] = (count, entitlements, payments)
        for cycle in self:
            by_state = stats.get(cycle.id, {})
            done = by_state.get(const.CHUNK_STATE_DONE, (0, 0, 0))
            total_entitlements = sum(v[1] for v in by_state.values())
            cycle.voucher_jobs_total = sum(v[0] for v in by_state.values())
            cycle.voucher_jobs_done = done[0]
            cycle.voucher_jobs_failed = by_state.get(const.CHUNK_STATE_FAILED, (0,))[0]
            cycle.voucher_entitlements_total = total_entitlements
            cycle.voucher_payments_done = done[2]
            cycle.voucher_progress = (
                100.0 * done[1] / total_entitlements if total_entitlements else 0.0
            )

    def _voucher_run_chunks(self):
        self.ensure_one()
        return self.voucher_chunk_ids.filtered(
            lambda c: c.run_ref == self.voucher_run_ref
        )

    def _check_no_voucher_run_pending(self):
        for cycle in self:
            open_chunks = cycle._voucher_run_chunks().filtered(
                lambda c: c.state not in const.CHUNK_STATES_CLOSED
            )
            if open_chunks:
                raise UserError(
                    _(
                        "Cycle %(cycle)s is still preparing payments in background "
                        "jobs (%(open)s of %(total)s not done): wait for them, "
                        "retry the failed ones with Retry Failed Vouchers, or stop the "
                        "run with Cancel Unfinished Vouchers, before preparing "
                        "payments again.",
                        cycle=cycle.name,
                        open=len(open_chunks),
                        total=len(cycle._voucher_run_chunks()),
                    )
                )

    def action_retry_voucher_chunks(self):
        self.ensure_one()
        retried = self._voucher_run_chunks().action_retry()
        if retried:
            self.message_post(
                body=_(
                    "Vouchers: %(count)s failed jobs queued again by %(user)s.",
                    count=retried,
                    user=self.env.user.name,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return True

    def action_cancel_voucher_chunks(self):
        """Give up the unfinished chunks of the run and unlock the cycle.

        Their entitlements got no payment (a chunk keeps all or nothing), so
        Prepare Payments pays them later. Refused while a chunk job runs: a
        running job cannot be stopped and would commit its payments.
        """
        self.ensure_one()
        chunks = self._voucher_run_chunks()
        open_chunks = chunks.filtered(
            lambda c: c.state not in const.CHUNK_STATES_CLOSED
        )
        jobs = open_chunks._jobs()
        running = jobs.filtered(lambda j: j.state in ("enqueued", "started"))
        if running:
            raise UserError(
                _(
                    "Cycle %(cycle)s: %(count)s voucher jobs are running right now; "
                    "wait until they finish (refresh the page), then cancel the rest.",
                    cycle=self.name,
                    count=len(running),
                )
            )
        finish = (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("method_name", "=", "_finish_voucher_run"),
                    ("state", "not in", ("done", "cancelled")),
                    ("func_string", "ilike", self.voucher_run_ref),
                ]
            )
        )
        (
            jobs.filtered(lambda j: j.state not in ("done", "cancelled")) | finish
        ).sudo().button_cancelled()
        open_chunks.write({"state": const.CHUNK_STATE_CANCELLED})
        manager = chunks[:1].manager_id
        message = _(
            "Vouchers: %(cancelled)s unfinished jobs (%(count)s entitlements) "
            "cancelled by %(user)s; %(payments)s payments were made. Prepare "
            "Payments again to pay the others.",
            cancelled=len(open_chunks),
            count=sum(open_chunks.mapped("entitlement_count")),
            user=self.env.user.name,
            payments=sum(chunks.mapped("payment_count")),
        )
        if manager:
            manager.mark_job_as_done(self, message)
        return True

    def action_open_voucher_jobs(self):
        self.ensure_one()
        chunks = self._voucher_run_chunks()
        return {
            "type": "ir.actions.act_window",
            "name": _("Voucher Jobs of %(cycle)s", cycle=self.name),
            "res_model": "g2p.payment.file.chunk",
            "view_mode": "tree,form",
            "domain": [("id", "in", chunks.ids)],
            "context": {"create": False},
        }
