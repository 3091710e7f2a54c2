import html
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const
from ..rendering import TemplateError, check_qweb, render_qweb
from ..vouchers import pdf as voucher_pdf
from ..vouchers.errors import VoucherError

_UNSAFE_NAME_RE = re.compile(r"[^\w.-]+")


class G2PPaymentFileConfig(models.Model):
    _name = "g2p.payment.file.config"
    _description = "Payment File Config"
    _order = "id desc"

    name = fields.Char(required=True)
    type = fields.Selection(const.FILE_TYPE_SELECTION, default="pdf", required=True)
    body_string = fields.Text(
        string="Body",
        help="QWeb template of one file. Variables: object (the payment or batch), "
        "docs, qrcodes (object.qrcode_ids; qrcodes.get_by_name('x').content_htmlsafe "
        "is an image source), company, format_amount, format_date, json_dumps, "
        "csv_quote (one CSV field).",
    )
    qrcode_config_ids = fields.One2many(
        "g2p.payment.file.qrcode.config", "payment_config_id", string="QR Codes"
    )

    _sql_constraints = [
        (
            "name_unique",
            "unique (name)",
            "A payment file config with this name already exists.",
        ),
    ]

    @api.constrains("body_string")
    def _check_body_string_compiles(self):
        for config in self:
            try:
                check_qweb(self.env, config.body_string)
            except TemplateError as exc:
                raise ValidationError(
                    _(
                        "The template of payment file config %(config)s does not "
                        "parse: %(error)s",
                        config=config.name,
                        error=exc,
                    )
                ) from exc

    def _raise_template_error(self, record, error):
        if record:
            raise UserError(
                _(
                    "Payment file config %(config)s could not render %(model)s "
                    "%(record)s: %(error)s. Fix the template in Payment File Configs.",
                    config=self.name,
                    model=record._description,
                    record=record.display_name,
                    error=error,
                )
            )
        raise UserError(
            _(
                "The template of payment file config %(config)s is invalid: "
                "%(error)s. Fix it in Payment File Configs.",
                config=self.name,
                error=error,
            )
        )

    def _check_template_present(self):
        for config in self:
            if not (config.body_string or "").strip():
                raise UserError(
                    _(
                        "Payment file config %(config)s has an empty template: "
                        "write the voucher body in its Template page.",
                        config=config.name,
                    )
                )

    def _render_texts(self, records):
        self.ensure_one()
        self._check_template_present()
        try:
            return render_qweb(self.env, self.body_string, records)
        except TemplateError as exc:
            self._raise_template_error(exc.record, exc)

    def _render_files(self, records):
        """File content (bytes) per record id; PDFs come from ONE wkhtmltopdf run."""
        self.ensure_one()
        if not records:
            return {}
        texts = self._render_texts(records)
        if self.type == "csv":
            return {rid: self._csv_bytes(text) for rid, text in texts.items()}
        try:
            pdfs = voucher_pdf.htmls_to_pdfs([texts[rec.id] for rec in records])
        except VoucherError as exc:
            raise UserError(
                _(
                    "Payment file config %(config)s: the PDF files could not be "
                    "produced: %(error)s",
                    config=self.name,
                    error=exc,
                )
            ) from exc
        return {rec.id: data for rec, data in zip(records, pdfs, strict=True)}

    @api.model
    def _entries_to_files(self, entries):
        """Bytes per (file config, record, rendered text) entry, in order; all
        PDFs go through ONE wkhtmltopdf process."""
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

    @api.model
    def _csv_bytes(self, text):
        # QWeb escapes text for HTML; a CSV wants the characters themselves.
        return html.unescape(text).encode("utf-8")

    def _file_name(self, record):
        base = "%s-%s" % (self.name, record.display_name or record.id)
        return _UNSAFE_NAME_RE.sub("_", base).strip("_")[:120]

    def _render_and_store_records(self, records, document_store):
        """Render and store one file per record: {record id: storage.file}."""
        self.ensure_one()
        records.check_access_rights("write")
        records.check_access_rule("write")
        datas = self._render_files(records)
        files = {}
        # sudo: storage files need document-write rights on the real base;
        # the caller may write the records the files are rendered for.
        sudo_store = document_store.sudo()
        for record in records:
            files[record.id] = sudo_store.add_file(
                datas[record.id],
                name=self._file_name(record),
                extension="." + self.type,
            )
        return files

    def render_and_store(self, res_model, res_ids, document_store):
        """Upstream-compatible API: a list of stored files, in ``res_ids`` order."""
        records = self.env[res_model].browse(res_ids)
        files = self._render_and_store_records(records, document_store)
        return [files[rid] for rid in res_ids]

    def render_template(self, res_model, res_id):
        """Upstream-compatible API: the file content of one record."""
        record = self.env[res_model].browse(res_id)
        return self._render_files(record)[res_id]
