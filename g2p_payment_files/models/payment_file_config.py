import ast
import copy
import html
import re

from lxml import etree

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const, rendering
from ..rendering import TemplateError, check_qweb, render_qweb
from ..vouchers import pdf as voucher_pdf
from ..vouchers import sheets
from ..vouchers.errors import VoucherError

_UNSAFE_NAME_RE = re.compile(r"[^\w.-]+")
_HEAD_RE = re.compile(r"^\s*(<\?xml[^>]*\?>)?\s*(<!DOCTYPE[^>]*>)?", re.IGNORECASE)
# ir.qweb writes "# element: '<path>' , '<node>'" before each node's code.
_ELEMENT_COMMENT_RE = re.compile(r"\s*# element: (.*) , (.*)$")
# ir.qweb compiles a template given as an element under this file name.
_COMPILED_FILENAME = "<None>"
# Stored as the number of vouchers per A4 sheet; 1 keeps one A4 page each.
VOUCHERS_PER_PAGE_SELECTION = [("1", "1 per A4 page")] + [
    (str(count), "%d per A4 page (%g x %g mm each)" % (count, *size))
    for count, size in (
        (count, sheets.voucher_size_mm(count)) for count in sheets.PER_SHEET_CHOICES
    )
    if count > 1
]


class G2PPaymentFileConfig(models.Model):
    _name = "g2p.payment.file.config"
    # Who changed what a voucher prints is kept in the chatter.
    _inherit = ["mail.thread"]
    _description = "Payment File Config"
    _order = "id desc"

    name = fields.Char(required=True)
    type = fields.Selection(
        const.FILE_TYPE_SELECTION, default="pdf", required=True, tracking=True
    )
    body_string = fields.Text(
        string="Body",
        tracking=True,
        help="QWeb template of one file. Variables: object (the payment or batch), "
        "docs, qrcodes (object.qrcode_ids; qrcodes.get_by_name('x').content_htmlsafe "
        "is an image source), company, format_amount, format_date, json_dumps, "
        "csv_quote (one CSV field).",
    )
    qrcode_config_ids = fields.One2many(
        "g2p.payment.file.qrcode.config", "payment_config_id", string="QR Codes"
    )
    vouchers_per_page = fields.Selection(
        VOUCHERS_PER_PAGE_SELECTION,
        string="Vouchers per A4 Page",
        default="1",
        required=True,
        help="PDF only. With 2, 4 or 8, each voucher is rendered at the size of "
        "its piece of the sheet (see Voucher Page Size; design the template for "
        "it and check it with Preview Voucher), and every batch (or every "
        "background job without batches) also gets a print run: one PDF of A4 "
        "sheets with that many vouchers each and cut marks. The per-payment "
        "files stay, for the record.",
    )
    voucher_page_size = fields.Char(compute="_compute_voucher_page_size")

    _sql_constraints = [
        (
            "name_unique",
            "unique (name)",
            "A payment file config with this name already exists.",
        ),
    ]

    @api.depends("vouchers_per_page")
    def _compute_voucher_page_size(self):
        for config in self:
            per_page = int(config.vouchers_per_page or 1)
            if per_page == 1:
                config.voucher_page_size = _("A4 (210 x 297 mm), margins 10 mm")
            else:
                width, height = sheets.voucher_size_mm(per_page)
                config.voucher_page_size = _(
                    "%(width)s x %(height)s mm, margins %(margin)s mm",
                    width="%g" % width,
                    height="%g" % height,
                    margin="%g" % sheets.VOUCHER_MARGIN_MM,
                )

    def _vouchers_per_sheet(self):
        self.ensure_one()
        return int(self.vouchers_per_page or 1) if self.type == "pdf" else 1

    def _pdf_options(self):
        """wkhtmltopdf options: the voucher page is one piece of the sheet."""
        self.ensure_one()
        return sheets.wkhtmltopdf_options(self._vouchers_per_sheet())

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
            where = self._locate_render_error(record)
            raise UserError(
                _(
                    "Payment file config %(config)s could not render %(model)s "
                    "%(record)s: %(error)s%(where)s. Fix the template in Payment "
                    "File Configs.",
                    config=self.name,
                    model=record._description,
                    record=record.display_name,
                    error=error,
                    where=" (%s)" % where if where else "",
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

    def _locate_render_error(self, record):
        """The failing node for ``record`` as "template line N: <node>", or "".

        Only on the error path: the template is rendered once more for that
        record, and the failing line of the code ir.qweb compiled is traced
        back to the node it was compiled from (ir.qweb itself names the node
        only for templates stored as views).
        """
        self.ensure_one()
        source = self.body_string or ""
        head = _HEAD_RE.match(source)
        skipped = source[: head.end()].count("\n")
        try:
            root = etree.fromstring("<t>%s</t>" % source[head.end() :])
            values = rendering.base_values(self.env, record)
            values.update(rendering.record_values(record))
            qweb = self.env["ir.qweb"]
            try:
                str(qweb._render(copy.deepcopy(root), values))
            except Exception as exc:
                line = _compiled_error_line(exc)
                if line is None:
                    return ""
                code = qweb._generate_code(copy.deepcopy(root))[0].split("\n")
                # The compiled module has two wrapper lines before the code.
                for text in reversed(code[: max(line - 2, 0)]):
                    match = _ELEMENT_COMMENT_RE.match(text)
                    if match:
                        path = ast.literal_eval(match.group(1))
                        node = ast.literal_eval(match.group(2))
                        found = root.getroottree().xpath(path)
                        if found and found[0].sourceline:
                            return _(
                                "template line %(line)s: %(node)s",
                                line=found[0].sourceline + skipped,
                                node=node,
                            )
                        return _("template node %(node)s", node=node)
        except Exception:  # a hint only: the caller raises the error itself
            return ""
        return ""

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
            pdfs = voucher_pdf.htmls_to_pdfs(
                [texts[rec.id] for rec in records], self._pdf_options()
            )
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
        PDFs of one page size go through ONE wkhtmltopdf process."""
        datas = [None] * len(entries)
        # One wkhtmltopdf process per page size (usually one for the run).
        by_options = {}
        for index, (file_config, _record, text) in enumerate(entries):
            if file_config.type == "csv":
                datas[index] = file_config._csv_bytes(text)
            else:
                options = tuple(sorted(file_config._pdf_options().items()))
                by_options.setdefault(options, []).append(index)
        for options, pdf_indexes in by_options.items():
            try:
                pdfs = voucher_pdf.htmls_to_pdfs(
                    [entries[i][2] for i in pdf_indexes], dict(options)
                )
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

    def _print_run(self, datas, caption=""):
        """One PDF of A4 sheets with the vouchers ``datas``, N per sheet."""
        self.ensure_one()
        try:
            return sheets.impose(datas, self._vouchers_per_sheet(), caption=caption)
        except VoucherError as exc:
            raise UserError(
                _(
                    "Payment file config %(config)s: the print run of %(count)s "
                    "vouchers could not be made: %(error)s",
                    config=self.name,
                    count=len(datas),
                    error=exc,
                )
            ) from exc

    def action_preview_voucher(self):
        """Open the preview dialog: render one payment's voucher, store nothing."""
        self.ensure_one()
        preview = self.env["g2p.payment.file.preview"].create(
            {"file_config_id": self.id}
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Preview Voucher"),
            "res_model": preview._name,
            "res_id": preview.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.model
    def _csv_bytes(self, text):
        # QWeb escapes text for HTML; a CSV wants the characters themselves.
        return html.unescape(text).encode("utf-8")

    def _file_name(self, record):
        return self._safe_file_name(record.display_name or record.id)

    def _safe_file_name(self, label):
        base = "%s-%s" % (self.name, label)
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


def _compiled_error_line(error):
    """Line, in the code ir.qweb compiled, where ``error`` (or its cause) arose."""
    line = None
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        trace = error.__traceback__
        while trace is not None:
            if trace.tb_frame.f_code.co_filename == _COMPILED_FILENAME:
                line = trace.tb_lineno
            trace = trace.tb_next
        error = error.__cause__
    return line
