import base64
import re

from markupsafe import escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import const
from ..vouchers import keys as voucher_keys
from ..vouchers import pdf as voucher_pdf
from ..vouchers.errors import VoucherError
from ..vouchers.payloads import Signer

# Signed codes of a preview carry this kid: no JWKS publishes it, so a
# printed preview can never pass for a voucher.
PREVIEW_KID = "preview-not-valid"
_BODY_OPEN_RE = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_WATERMARK_STYLE = (
    "position:absolute;top:30%;left:0;width:100%;text-align:center;"
    "white-space:nowrap;font:bold 22pt sans-serif;color:rgba(200,0,0,0.35);"
    "z-index:1000;"
    "-webkit-transform:rotate(-30deg);transform:rotate(-30deg)"
)


class G2PPaymentFilePreview(models.TransientModel):
    """Render one payment's voucher with a config as it stands: nothing is kept.

    The codes are made inside a savepoint that is rolled back, signed with a
    throw-away key, and the PDF says PREVIEW: a preview cannot be used as a
    voucher. The file lives only in this transient row, for the download.
    """

    _name = "g2p.payment.file.preview"
    _description = "Payment Voucher Preview"

    file_config_id = fields.Many2one(
        "g2p.payment.file.config",
        string="Payment File Config",
        required=True,
        ondelete="cascade",
    )
    file_type = fields.Selection(related="file_config_id.type")
    payment_id = fields.Many2one(
        "g2p.payment",
        help="The payment to render the voucher for; empty takes the latest "
        "payment with a code of this config, or else the latest payment.",
    )
    partner_id = fields.Many2one(related="payment_id.partner_id", string="Beneficiary")
    data = fields.Binary(string="Preview File", readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        previews = super().create(vals_list)
        for preview in previews.filtered(lambda p: not p.payment_id):
            preview.payment_id = preview._latest_payment()
        return previews

    def _latest_payment(self):
        self.ensure_one()
        code = self.env["g2p.payment.file.qrcode"].search(
            [
                ("qrcode_config_id.payment_config_id", "=", self.file_config_id.id),
                ("payment_id", "!=", False),
            ],
            order="id desc",
            limit=1,
        )
        return code.payment_id or self.env["g2p.payment"].search(
            [], order="id desc", limit=1
        )

    def action_render(self):
        """Render the preview and download it; template errors name the line."""
        self.ensure_one()
        config = self.file_config_id
        payment = self.payment_id or self._latest_payment()
        if not payment:
            raise UserError(
                _(
                    "There is no payment to preview payment file config %(config)s "
                    "with: prepare the payments of a cycle first.",
                    config=config.name,
                )
            )
        config.check_access_rights("write")
        payment.check_access_rights("read")
        payment.check_access_rule("read")
        data = self._render_preview(config, payment)
        file_name = "%s-PREVIEW.%s" % (config._file_name(payment), config.type)
        self.write(
            {
                "payment_id": payment.id,
                "data": base64.b64encode(data),
                "file_name": file_name,
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": "/web/content?model=%s&id=%s&field=data&filename_field=file_name"
            "&download=true" % (self._name, self.id),
            "target": "download",
        }

    def _render_preview(self, config, payment):
        config._check_template_present()
        signer = None
        if any(
            code.data_type in const.SIGNED_DATA_TYPES
            for code in config.qrcode_config_ids
        ):
            kty = const.KTY_BY_KEY_TYPE[const.KEY_TYPE_EC]
            key = voucher_keys.generate_private_key(kty)
            signer = Signer(key, PREVIEW_KID)
        # Everything made here (code rows) is rolled back.
        savepoint = self.env.cr.savepoint()
        try:
            # sudo: the code rows exist only inside the savepoint.
            codes = self.env["g2p.payment.file.qrcode"].sudo()
            for code_config in config.qrcode_config_ids:
                payloads = code_config._render_payloads(payment, signer)
                codes.create(
                    {
                        "qrcode_config_id": code_config.id,
                        "data": payloads[payment.id],
                        "payment_id": payment.id,
                    }
                )
            payment.invalidate_recordset(["qrcode_ids"])
            text = config._render_texts(payment)[payment.id]
            if config.type == "csv":
                return config._csv_bytes(text)
            try:
                return voucher_pdf.htmls_to_pdfs(
                    [self._watermarked(text)], config._pdf_options()
                )[0]
            except VoucherError as exc:
                raise UserError(
                    _(
                        "Payment file config %(config)s: the preview PDF could not "
                        "be produced: %(error)s",
                        config=config.name,
                        error=exc,
                    )
                ) from exc
        finally:
            savepoint.close(rollback=True)

    @api.model
    def _watermarked(self, html):
        mark = '<div style="%s">%s</div>' % (
            _WATERMARK_STYLE,
            escape(_("PREVIEW - NOT VALID")),
        )
        match = _BODY_OPEN_RE.search(html)
        if match:
            return html[: match.end()] + mark + html[match.end() :]
        return mark + html
