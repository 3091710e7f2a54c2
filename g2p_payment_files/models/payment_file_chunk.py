import logging
from datetime import timedelta

from odoo import _, api, fields, models

from .. import const

_logger = logging.getLogger(__name__)


class G2PPaymentFileChunk(models.Model):
    """One queue_job job's share of a large Prepare Payments run.

    A chunk names the entitlements it pays (grouped by the batch they will
    form); its job creates their payments, codes and voucher files in one
    transaction. The row is also the job's claim: a run locks it and marks
    it done in the same transaction as its payments, so a retried, re-run or
    concurrent job of the same chunk never pays or files anyone twice.
    """

    _name = "g2p.payment.file.chunk"
    _description = "Payment Voucher Chunk"
    _order = "run_ref, sequence, id"

    manager_id = fields.Many2one(
        "g2p.program.payment.manager.file",
        string="File Payment Manager",
        required=True,
        ondelete="cascade",
        index=True,
    )
    cycle_id = fields.Many2one(
        "g2p.cycle", required=True, ondelete="cascade", index=True
    )
    # One Prepare Payments click; the cycle shows the progress of its latest.
    run_ref = fields.Char(required=True, index=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    # [[batch tag id or False, [entitlement ids]], ...]: one group per batch
    # to create (one group without a tag when payments are not batched).
    plan = fields.Json(readonly=True)
    entitlement_count = fields.Integer(readonly=True)
    state = fields.Selection(
        const.CHUNK_STATE_SELECTION,
        default=const.CHUNK_STATE_PENDING,
        required=True,
        readonly=True,
        index=True,
    )
    payment_count = fields.Integer(readonly=True)
    file_count = fields.Integer(readonly=True)
    error = fields.Text(readonly=True)
    job_uuid = fields.Char(readonly=True, index=True, copy=False)
    job_state = fields.Char(compute="_compute_job_state")
    date_done = fields.Datetime(readonly=True)

    def _compute_job_state(self):
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search([("uuid", "in", self.mapped("job_uuid"))])
        )
        states = {job.uuid: job.state for job in jobs}
        for chunk in self:
            chunk.job_state = states.get(chunk.job_uuid, False)

    def _storage_prefix(self):
        self.ensure_one()
        return "g2p_payment_files/chunk-%s" % self.id

    # The job ----------------------------------------------------------------

    def _run(self):
        """Create the chunk's payments and their codes and voucher files."""
        self.ensure_one()
        manager = self.manager_id
        try:
            # On failure, rolling back to this savepoint also releases the
            # claim's row lock, so the failure can be recorded on the row.
            with self.env.cr.savepoint():
                if not self._claim():
                    return _("Chunk %(seq)s has nothing left to do.", seq=self.sequence)
                self._remove_orphan_files()
                self._make_payments_and_files()
        except Exception as exc:
            if not manager._is_retried_job_error(exc):
                self._record_failure(exc)
            raise
        return _(
            "%(payments)s payments and %(files)s files made.",
            payments=self.payment_count,
            files=self.file_count,
        )

    def _make_payments_and_files(self):
        payments, batches = self.manager_id.with_context(
            **{const.STORAGE_PREFIX_CONTEXT: self._storage_prefix()}
        )._prepare_planned_payments_and_files(self.cycle_id, self.plan)
        payments = payments or self.env["g2p.payment"]
        batches = batches or self.env["g2p.payment.batch"]
        self.write(
            {
                "state": const.CHUNK_STATE_DONE,
                "payment_count": len(payments),
                "file_count": len(payments.payment_file_ids)
                + len(batches.payment_file_ids),
                "error": False,
                "date_done": fields.Datetime.now(),
            }
        )

    def _claim(self):
        """Lock this chunk for the job; False when it needs no work.

        NOWAIT: a concurrent run of the same chunk fails at once with
        LockNotAvailable, which queue_job retries later. Odoo runs in
        REPEATABLE READ, so once that other run has committed (it marks the
        row done), locking the row raises a serialization failure instead of
        reading a stale state: retried too, and then the row reads done.
        """
        self.ensure_one()
        self.env.cr.execute(
            "SELECT state FROM g2p_payment_file_chunk WHERE id = %s FOR UPDATE NOWAIT",
            [self.id],
        )
        row = self.env.cr.fetchone()
        return bool(row) and row[0] not in const.CHUNK_STATES_CLOSED

    def _record_failure(self, error):
        """Keep the error on the chunk and the cycle; the job fails after.

        The job runner rolls the job's transaction back after the exception,
        so this is written through a cursor of its own.
        """
        self.ensure_one()
        message = str(error) or error.__class__.__name__
        _logger.warning("Voucher chunk %s failed: %s", self.id, message)
        try:
            with self.env.registry.cursor() as cr:
                # Never hang the job worker on a lock held elsewhere.
                cr.execute("SET LOCAL lock_timeout = '10s'")
                chunk = self.with_env(
                    api.Environment(cr, self.env.uid, self.env.context)
                )
                chunk._remove_orphan_files()
                chunk.write({"state": const.CHUNK_STATE_FAILED, "error": message})
                chunk.cycle_id.sudo().message_post(
                    body=_(
                        "Vouchers: job %(seq)s of %(total)s (%(count)s entitlements) "
                        "failed, so none of its payments was kept: %(error)s Fix the "
                        "cause (voucher templates, signing key or document store of "
                        "File Payment Manager %(manager)s), then click Retry Failed "
                        "Vouchers on the cycle.",
                        seq=chunk.sequence,
                        total=chunk.search_count([("run_ref", "=", chunk.run_ref)]),
                        count=chunk.entitlement_count,
                        error=message,
                        manager=chunk.manager_id.name,
                    ),
                    subtype_xmlid="mail.mt_note",
                )
                chunk.env.flush_all()
        except Exception:
            # The job's own error matters more: the caller re-raises it.
            _logger.exception(
                "Could not record the failure of voucher chunk %s", self.id
            )
        self.invalidate_recordset()

    def _remove_orphan_files(self):
        """Delete files under the chunk's folder that no storage.file names.

        Only a run that died before its commit leaves such files: its rows
        rolled back, its writes to the store did not. Odoo's own filestore
        (the stand-in's store) collects those itself.
        """
        self.ensure_one()
        StorageFile = self.env["storage.file"].sudo().with_context(active_test=False)
        if "relative_path" not in StorageFile._fields:
            return
        store = self.manager_id._get_file_document_store().sudo()
        prefix = self._storage_prefix()
        names = store.list_files(prefix)
        if not names:
            return
        known = set(
            StorageFile.search(
                [
                    ("backend_id", "=", store.id),
                    ("relative_path", "=like", prefix + "/%"),
                ]
            ).mapped("relative_path")
        )
        for name in names:
            path = "%s/%s" % (prefix, name)
            if path not in known:
                store.delete(path)

    # Retry and recovery -----------------------------------------------------

    def _jobs(self):
        return (
            self.env["queue.job"]
            .sudo()
            .search([("uuid", "in", self.mapped("job_uuid"))])
        )

    def action_retry(self):
        """Queue the failed chunks' jobs again (after the cause is fixed).

        Also those whose job gave up while the chunk stayed pending (retried
        errors such as lock timeouts, until queue_job's retries ran out).
        """
        open_chunks = self.filtered(lambda c: c.state not in const.CHUNK_STATES_CLOSED)
        jobs = open_chunks._jobs().filtered(lambda j: j.state == "failed")
        failed = open_chunks.filtered(
            lambda c: (
                c.state == const.CHUNK_STATE_FAILED or c.job_uuid in jobs.mapped("uuid")
            )
        )
        failed.write({"state": const.CHUNK_STATE_PENDING, "error": False})
        jobs.requeue()
        return len(failed)

    @api.model
    def _cron_requeue_stale_chunks(self, limit=200):
        """Queue again the chunk jobs whose worker died while running them.

        Safe even when the worker is only slow: the chunk claim makes a second
        run wait (retried) and then find the chunk done.
        """
        stale_seconds = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(const.CHUNK_STALE_PARAM, const.CHUNK_STALE_SECONDS_DEFAULT)
        )
        before = fields.Datetime.now() - timedelta(seconds=stale_seconds)
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("model_name", "=", self._name),
                    ("method_name", "=", "_run"),
                    ("state", "=", "started"),
                    ("date_started", "<", before),
                ],
                limit=limit,
            )
        )
        if jobs:
            _logger.warning("Requeueing %s stale voucher chunk jobs", len(jobs))
            jobs.requeue()
        return len(jobs)
