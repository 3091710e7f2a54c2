import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import const
from ..vouchers import pdf as voucher_pdf
from ..vouchers.errors import VoucherError

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

    # Preparing payments -------------------------------------------------------

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

    def _get_signer(self, jobs):
        """The Signer of the active key, parsed once per run (None if unneeded)."""
        needs_signature = any(
            qr.data_type in const.SIGNED_DATA_TYPES
            for file_configs, _records, _field in jobs
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
        return key_set._get_signer()

    def _render_payment_files(self, payments, batches):
        """Render the codes and voucher files of one prepare run and link them."""
        self.ensure_one()
        jobs = self._get_render_jobs(payments, batches)
        if not jobs:
            return
        store = self._get_file_document_store()
        signer = self._get_signer(jobs)
        now = fields.Datetime.now()
        # 1. Codes first: the voucher templates embed them.
        for file_configs, records, res_field in jobs:
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
        # 2. Render every document; all PDFs of the run go through ONE
        #    wkhtmltopdf process (its start-up dominates a single voucher).
        entries = []
        for file_configs, records, _res_field in jobs:
            for file_config in file_configs:
                texts = file_config._render_texts(records)
                entries.extend((file_config, rec, texts[rec.id]) for rec in records)
        datas = self._entries_to_files(entries)
        # 3. Store and link.
        for (file_config, record, _text), data in zip(entries, datas, strict=True):
            stored = store.add_file(
                data,
                name=file_config._file_name(record),
                extension="." + file_config.type,
            )
            record.payment_file_ids = [fields.Command.link(stored.id)]

    def _entries_to_files(self, entries):
        datas = [None] * len(entries)
        pdf_indexes = []
        for index, (file_config, _record, text) in enumerate(entries):
            if file_config.type == "csv":
                datas[index] = file_config._csv_bytes(text)
            else:
                pdf_indexes.append(index)
        if pdf_indexes:
            try:
                pdfs = voucher_pdf.htmls_to_pdfs([entries[i][2] for i in pdf_indexes])
            except VoucherError as exc:
                names = ", ".join(sorted({entries[i][0].name for i in pdf_indexes}))
                raise UserError(
                    _(
                        "The voucher PDFs (payment file configs %(configs)s) could "
                        "not be produced: %(error)s",
                        configs=names,
                        error=exc,
                    )
                ) from exc
            for index, data in zip(pdf_indexes, pdfs, strict=True):
                datas[index] = data
        return datas

    def _prepare_payments(self, cycle, entitlements):
        # All or nothing: a template, payload or PDF error must not leave
        # payments without vouchers, orphan files or code rows behind.
        with self.env.cr.savepoint():
            payments, batches = super()._prepare_payments(cycle, entitlements)
            self._render_payment_files(payments, batches)
        return payments, batches

    def _send_payments(self, batches):
        raise UserError(
            _(
                "File Payment Manager %(name)s does not send payments: its vouchers "
                "are handed over out of band. Download the files from the Files page "
                "of the payment batches or payments, and record the payment status "
                "there.",
                name=", ".join(self.mapped("name")),
            )
        )
