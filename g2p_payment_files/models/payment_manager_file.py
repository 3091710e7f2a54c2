import logging

from psycopg2 import OperationalError

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY

from .. import const

_logger = logging.getLogger(__name__)


class G2PFilesPaymentManager(models.Model):
    _name = "g2p.program.payment.manager.file"
    _inherit = "g2p.program.payment.manager.default"
    _description = "File based Payment Manager"

    file_document_store = fields.Many2one(
        "storage.backend",
        help="Where voucher files are stored; empty uses the program's supporting "
        "documents store.",
    )
    payment_file_config_ids = fields.Many2many(
        "g2p.payment.file.config",
        string="Payment File Configs",
        help="Files rendered per payment when payments are not batched.",
    )
    # One active key set at a time; retired and revoked ones stay for history.
    crypto_key_set = fields.One2many(
        "g2p.crypto.key.set", "file_payment_manager_id", string="Signing Keys"
    )
    active_key_set_id = fields.Many2one(
        "g2p.crypto.key.set",
        string="Active Key",
        compute="_compute_active_key_set_id",
    )
    key_type = fields.Selection(
        const.KEY_TYPE_SELECTION,
        default=const.KEY_TYPE_DEFAULT,
        required=True,
        help="Type of the signing keys created for this manager (on creation and "
        "rotation). ES256 gives the smallest QR codes; RS256 matches upstream.",
    )
    key_size = fields.Selection(
        const.RSA_SIZE_SELECTION, string="RSA Key Size", default="2048"
    )
    batch_tag_ids = fields.Many2many(
        "g2p.payment.batch.tag",
        "g2p_pay_batch_tag_pay_manager_files",
        string="Batch Tags",
        ondelete="cascade",
    )

    @api.depends("crypto_key_set.status")
    def _compute_active_key_set_id(self):
        for rec in self:
            rec.active_key_set_id = rec.crypto_key_set.filtered(
                lambda k: k.status == const.KEY_STATUS_ACTIVE
            )[:1]

    @api.model_create_multi
    def create(self, vals_list):
        managers = super().create(vals_list)
        for manager in managers:
            if not manager.crypto_key_set:
                manager._create_key_set()
        return managers

    def _create_key_set(self):
        """Create the manager's signing key.

        sudo: program managers may create payment managers but must not touch
        private keys; the key is generated server side and never returned.
        """
        self.ensure_one()
        return (
            self.env["g2p.crypto.key.set"]
            .sudo()
            .create(
                {
                    "file_payment_manager_id": self.id,
                    "type": self.key_type,
                    "size": self.key_size
                    if self.key_type == const.KEY_TYPE_RSA
                    else False,
                }
            )
        )

    def unlink(self):
        # Retire, don't delete: the keys stay in the JWKS for printed vouchers.
        self.sudo().crypto_key_set.action_retire()
        return super().unlink()

    def action_rotate_key(self):
        """Retire the active key (still published) and create a new active one."""
        KeySet = self.env["g2p.crypto.key.set"]
        KeySet.check_access_rights("create")
        for manager in self:
            manager.active_key_set_id.action_retire()
            # The retirement must reach the DB before the new key is inserted:
            # a unique index allows one active key per manager.
            KeySet.flush_model(["status"])
            manager._create_key_set()
        return True

    @api.onchange("create_batch")
    def on_change_create_batch_keep_catch_all(self):
        # Named to sort after the bases' own create_batch onchanges (onchange
        # methods run in name order): unticking create_batch clears the tags
        # on the real base, but both bases pay only tag-matched entitlements.
        for manager in self:
            if not manager.batch_tag_ids:
                manager.batch_tag_ids = [
                    fields.Command.create(
                        {"name": _("All entitlements"), "order": 1, "domain": "[]"}
                    )
                ]

    # Checks run when Prepare Payments is clicked ------------------------------

    @api.model
    def _is_catch_all_tag(self, tag):
        return "".join((tag.domain or "").split()) == "[]"

    def _check_batch_tags_pay_everyone(self):
        """Both bases pay only the entitlements a batch tag matches, even with
        create_batch off: without a last catch-all tag nobody, or only some
        entitlements, would get a payment, without any error."""
        for manager in self:
            tags = manager.batch_tag_ids.sorted(lambda t: (t.order, t.id))
            if not tags:
                raise UserError(
                    _(
                        "File Payment Manager %(name)s has no batch tags, so no "
                        "entitlement would be paid. Add a batch tag with the "
                        "domain [] (it matches every entitlement) to its Batch "
                        "Tags, then prepare the payments again.",
                        name=manager.name,
                    )
                )
            if not self._is_catch_all_tag(tags[-1]):
                raise UserError(
                    _(
                        "File Payment Manager %(name)s: its last batch tag "
                        "%(tag)s has the domain %(domain)s, so the entitlements it "
                        "does not match would never be paid. Set that domain to [] "
                        "or add a batch tag with the domain [] and a higher order, "
                        "then prepare the payments again.",
                        name=manager.name,
                        tag=tags[-1].name,
                        domain=tags[-1].domain,
                    )
                )

    def _get_configured_file_configs(self):
        self.ensure_one()
        if self.create_batch:
            return self.batch_tag_ids.file_config_ids
        return self.payment_file_config_ids

    def _check_can_prepare_files(self):
        """Cheap checks that need no rendering: store, templates, key, tags."""
        self.ensure_one()
        self._check_batch_tags_pay_everyone()
        file_configs = self._get_configured_file_configs()
        if file_configs:
            self._get_file_document_store()
            file_configs._check_template_present()
            self._get_signing_key(file_configs)

    def _get_file_document_store(self):
        self.ensure_one()
        store = self.file_document_store or self.program_id.supporting_documents_store
        if not store:
            raise UserError(
                _(
                    "File Payment Manager %(name)s has no document store for the "
                    "voucher files: set one on the manager or set the supporting "
                    "documents store of program %(program)s.",
                    name=self.name,
                    program=self.program_id.name,
                )
            )
        return store

    def _get_signing_key(self, file_configs):
        """The active key set if a code of ``file_configs`` is signed, else None."""
        needs_signature = any(
            qr.data_type in const.SIGNED_DATA_TYPES
            for qr in file_configs.qrcode_config_ids
        )
        if not needs_signature:
            return None
        key_set = self.active_key_set_id
        if not key_set:
            raise UserError(
                _(
                    "File Payment Manager %(name)s has no active signing key for its "
                    "JWT/CWT codes: use Rotate Key to create one.",
                    name=self.name,
                )
            )
        return key_set

    # Preparing payments -------------------------------------------------------

    def _prepare_payments(self, cycle, entitlements):
        return self._prepare_payments_and_files(cycle, entitlements)

    @api.model
    def _is_retried_job_error(self, error):
        """queue_job runs the job again after these."""
        if isinstance(error, OperationalError):
            return error.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY
        return type(error).__name__ == "RetryableJobError"

    def _prepare_payments_and_files(self, cycle, entitlements):
        self._check_can_prepare_files()
        # All or nothing: a template, payload or PDF error must not leave
        # payments without vouchers or code rows behind (files reach the
        # filesystem store only at the very end, once everything rendered).
        with self.env.cr.savepoint():
            payments, batches = super()._prepare_payments(cycle, entitlements)
            self._render_payment_files(
                payments or self.env["g2p.payment"],
                batches or self.env["g2p.payment.batch"],
            )
        # What super returned: (None, None) or (payments, None) on the real base.
        return payments, batches

    def _prepare_planned_payments_and_files(self, cycle, plan):
        """A chunk job's run: its planned payments in bulk, then their files;
        all or nothing like ``_prepare_payments_and_files``."""
        self._check_can_prepare_files()
        with self.env.cr.savepoint():
            payments, batches = self._issue_planned_payments(cycle, plan)
            self._render_payment_files(payments, batches)
        return payments, batches

    def _get_render_jobs(self, payments, batches):
        """(file configs, records, field linking a code row to a record) to render."""
        jobs = []
        if self.create_batch:
            for batch_tag in self.batch_tag_ids:
                file_configs = batch_tag.file_config_ids
                tag_batches = batches.filtered(lambda b, t=batch_tag: b.tag_id == t)
                if not file_configs or not tag_batches:
                    continue
                if batch_tag.render_files_per_payment:
                    jobs.append((file_configs, tag_batches.payment_ids, "payment_id"))
                else:
                    jobs.append((file_configs, tag_batches, "payment_batch_id"))
        elif payments and self.payment_file_config_ids:
            jobs.append((self.payment_file_config_ids, payments, "payment_id"))
        return jobs

    def _render_payment_files(self, payments, batches):
        """Render the codes and voucher files of one prepare run and link them.

        A slice of records at a time, each stored before the next is rendered
        and dropped from the cache: a run's memory does not grow with its size.
        """
        self.ensure_one()
        jobs = self._get_render_jobs(payments, batches)
        if not jobs:
            return
        store = self._get_file_document_store()
        for _file_configs, records, _res_field in jobs:
            records.check_access_rights("write")
            records.check_access_rule("write")
        key_set = self._get_signing_key(
            self.env["g2p.payment.file.config"].union(*(job[0] for job in jobs))
        )
        signer = key_set._get_signer() if key_set else None
        now = fields.Datetime.now()
        # sudo: creating storage files needs document-write rights on the real
        # base (g2p admins lack them); the write access to the payments and
        # batches the files belong to was checked above.
        sudo_store = store.sudo()
        print_runs = {}
        size = const.VOUCHER_RENDER_SLICE
        for file_configs, records, res_field in jobs:
            for start in range(0, len(records), size):
                self._render_slice(
                    file_configs,
                    records[start : start + size],
                    res_field,
                    (signer, now),
                    sudo_store,
                    print_runs,
                )
                self.env.flush_all()
                self.env.invalidate_all()
        self._store_print_runs(print_runs, sudo_store)

    def _render_slice(self, file_configs, records, res_field, signing, store, runs):
        """Codes, documents and stored files of ``records`` for ``file_configs``.

        PDFs of configs printing several vouchers per sheet are kept in
        ``runs`` per (config, batch) for their print run.
        """
        signer, now = signing
        # 1. Codes first: the voucher templates embed them.
        for qr_config in file_configs.qrcode_config_ids:
            payloads = qr_config._render_payloads(records, signer, now=now)
            self.env["g2p.payment.file.qrcode"].create(
                [
                    {
                        "qrcode_config_id": qr_config.id,
                        "data": payloads[record.id],
                        res_field: record.id,
                    }
                    for record in records
                ]
            )
        # 2. Every document of the slice; its PDFs go through as few
        #    wkhtmltopdf processes as possible (start-up dominates one voucher).
        entries = []
        for file_config in file_configs:
            texts = file_config._render_texts(records)
            entries.extend((file_config, rec, texts[rec.id]) for rec in records)
        datas = self.env["g2p.payment.file.config"]._entries_to_files(entries)
        # 3. Store and link, a slice at a time.
        store._g2p_add_files(
            [
                (data, config._file_name(record), "." + config.type)
                for (config, record, _text), data in zip(entries, datas, strict=True)
            ]
        )._g2p_link_to([record for _config, record, _text in entries])
        for (file_config, record, _text), data in zip(entries, datas, strict=True):
            if file_config._vouchers_per_sheet() > 1:
                batch = (
                    record if record._name == "g2p.payment.batch" else record.batch_id
                )
                runs.setdefault((file_config.id, batch.id), []).append(
                    ((record._name, record.id), data)
                )

    def _store_print_runs(self, runs, store):
        """One PDF of A4 sheets per batch (per run without batches) for each
        file config laid out with several vouchers per page; ``runs`` maps
        (config id, batch id) to the ((model, id), PDF) of its vouchers."""
        for (config_id, batch_id), items in runs.items():
            file_config = self.env["g2p.payment.file.config"].browse(config_id)
            batch = self.env["g2p.payment.batch"].browse(batch_id)
            model, first_id = items[0][0]
            first = self.env[model].browse(first_id)
            cycle = first.cycle_id
            parts = (self.program_id.name, cycle.name, batch.name if batch else None)
            caption = " - ".join(
                [p for p in parts if p] + [_("%(count)s vouchers", count=len(items))]
            )
            label = "print-run-%s" % (batch.name if batch else first.name)
            stored = store.add_file(
                file_config._print_run([data for _rec, data in items], caption),
                name=file_config._safe_file_name(label),
                extension=".pdf",
            )
            stored.g2p_print_run_cycle_id = cycle
            if batch:
                batch.payment_file_ids = [fields.Command.link(stored.id)]

    # Sending ------------------------------------------------------------------

    def _no_send_error(self):
        return UserError(
            _(
                "File Payment Manager %(name)s does not send payments: its vouchers "
                "are handed over out of band. Download the files from the Files page "
                "of the payment batches or payments, and record the payment status "
                "there.",
                name=", ".join(self.mapped("name")),
            )
        )

    def send_payments(self, batches):
        # Raised here, not only in _send_payments: from 50 batches the real base
        # locks the cycle and runs _send_payments in a queue job, which would
        # fail where nobody sees it and leave the cycle locked.
        raise self._no_send_error()

    def _send_payments(self, batches):
        raise self._no_send_error()
