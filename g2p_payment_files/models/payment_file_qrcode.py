from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import const
from ..vouchers import codes
from ..vouchers.errors import RenderError


class G2PPaymentFileQRCode(models.Model):
    # A regular model (upstream used a TransientModel, whose rows the vacuum
    # cron deletes within hours although they are the vouchers' payloads).
    _name = "g2p.payment.file.qrcode"
    _description = "Payment File QR Code"
    _order = "id desc"

    qrcode_config_id = fields.Many2one(
        "g2p.payment.file.qrcode.config", ondelete="cascade", index=True
    )
    data = fields.Char(readonly=True)
    content_base64 = fields.Char(compute="_compute_qrcode_content")
    content_htmlsafe = fields.Char(compute="_compute_qrcode_content")
    payment_batch_id = fields.Many2one(
        "g2p.payment.batch", ondelete="cascade", index=True
    )
    payment_id = fields.Many2one("g2p.payment", ondelete="cascade", index=True)

    @api.depends("data", "qrcode_config_id")
    def _compute_qrcode_content(self):
        for rec in self:
            uri = rec._render_data_uri() if rec.data else None
            if uri:
                rec.content_htmlsafe = uri
                rec.content_base64 = uri.split(",", 1)[1]
            else:
                rec.content_htmlsafe = rec.content_base64 = False

    def _render_data_uri(self):
        self.ensure_one()
        config = self.qrcode_config_id
        try:
            if config.type == const.CODE_TYPE_CODE128:
                return codes.svg_data_uri(codes.code128_svg(self.data))
            box_size = config.qrcode_box_size or 10
            if config.image_format == const.IMAGE_FORMAT_SVG:
                draw, to_uri = codes.qr_svg, codes.svg_data_uri
            else:
                # Exact 1-bit image in the PDF (vouchers/lossless.py).
                draw, to_uri = codes.qr_png_uri, str
                box_size = min(box_size, const.QR_PNG_MAX_BOX_SIZE)
            return to_uri(
                draw(
                    self.data,
                    version=config.qrcode_version or None,
                    error_correction=codes.error_correction_from_upstream(
                        config.qrcode_error_correct or "0"
                    ),
                    box_size=box_size,
                    border=config.qrcode_border if config.qrcode_border >= 0 else 4,
                )
            )
        except RenderError as exc:
            raise self._image_error(exc) from exc

    def _image_error(self, exc):
        return UserError(
            _(
                "Code %(code)s could not be drawn for %(record)s: %(error)s",
                code=self.qrcode_config_id.name,
                record=(self.payment_id or self.payment_batch_id).display_name,
                error=exc,
            )
        )

    def get_by_name(self, name):
        """The code of the config named ``name`` among these rows (templates)."""
        for rec in self:
            if rec.qrcode_config_id.name == name:
                return rec
        return None
