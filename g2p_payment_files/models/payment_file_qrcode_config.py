from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const
from ..rendering import TemplateError, check_inline, render_inline
from ..vouchers.errors import VoucherError
from ..vouchers.payloads import build_payload, merge_claims

# Labels of the stored error-correction codes (upstream's python-qrcode
# constants, const.QR_ERROR_CORRECT_SELECTION), from least to most robust.
_ERROR_CORRECTION_LABELS = {
    "1": "Low (L): ~7% of the code may be damaged",
    "0": "Medium (M): ~15% of the code may be damaged",
    "3": "Quartile (Q): ~25% of the code may be damaged",
    "2": "High (H): ~30% of the code may be damaged",
}
_ERROR_CORRECTION_SELECTION = [
    (value, _ERROR_CORRECTION_LABELS[value])
    for value in ("1", "0", "3", "2")
    if value in dict(const.QR_ERROR_CORRECT_SELECTION)
]


class G2PPaymentFileQRCodeConfig(models.Model):
    _name = "g2p.payment.file.qrcode.config"
    # Who changed what a code carries is kept in the chatter.
    _inherit = ["mail.thread"]
    _description = "Payment File QR Code Config"
    _order = "id asc"

    name = fields.Char(required=True, help="Templates fetch the code by this name.")
    type = fields.Selection(
        const.CODE_TYPE_SELECTION,
        string="Code Type",
        default=const.CODE_TYPE_QRCODE,
        required=True,
        tracking=True,
    )
    data_type = fields.Selection(
        const.DATA_TYPE_SELECTION,
        string="Payload Type",
        default=const.DATA_TYPE_STRING,
        required=True,
        tracking=True,
        help="String and JSON are printed as rendered; JWT and CWT are signed "
        "with the payment manager's active key and carry issue (iat) and expiry "
        "(exp) dates.",
    )
    qrcode_version = fields.Integer(
        string="Minimum QR Version (0: automatic)",
        default=None,
        help="QR versions go from 1 (21 x 21 modules) to 40 (177 x 177); the "
        "code grows to the smallest version its payload fits in, never below "
        "this one. Empty (or 0): automatic.",
    )
    qrcode_error_correct = fields.Selection(
        _ERROR_CORRECTION_SELECTION,
        string="Error Correction",
        default="0",
        required=True,
        help="How much of a worn or stained code a scanner can still read. "
        "Higher levels make the code bigger for the same payload.",
    )
    qrcode_box_size = fields.Integer(
        string="Pixels per Module",
        default=10,
        help="Size of one QR square in pixels (PNG codes use at most %s: the "
        "template's image width sets the printed size)." % const.QR_PNG_MAX_BOX_SIZE,
    )
    qrcode_border = fields.Integer(
        string="Quiet Zone (modules)",
        default=4,
        help="Blank margin around the code, in modules; scanners need 4.",
    )
    image_format = fields.Selection(
        const.IMAGE_FORMAT_SELECTION,
        default=const.IMAGE_FORMAT_PNG,
        required=True,
        help="How a QR code is put in the voucher (content_htmlsafe is a data URI "
        "of this format). PNG makes PDFs several times faster and smaller; SVG "
        "stays sharp at any zoom. Barcodes are always SVG.",
    )
    body_string = fields.Text(
        string="Body",
        tracking=True,
        help="Inline template of the payload, e.g. "
        '{"ref": {{ json_dumps(object.name) }}} with object the payment or batch. '
        "JWT and CWT bodies must render to a JSON object (the claims).",
    )
    validity_days = fields.Integer(
        string="Validity (days)",
        tracking=True,
        help="JWT/CWT: vouchers expire (claim exp) this many days after issue. "
        "0 means no expiry.",
    )
    issuer = fields.Char(
        tracking=True,
        help="JWT/CWT claim iss; defaults to the web.base.url of this server.",
    )
    cwt_prefix = fields.Char(
        string="CWT Prefix",
        default=const.CWT_PREFIX_DEFAULT,
        help="Text put before a base45 CWT, e.g. G2P: (uppercase letters, digits "
        "and $%*+-./: only, so the QR code keeps its compact alphanumeric mode).",
    )
    payment_config_id = fields.Many2one(
        "g2p.payment.file.config", ondelete="cascade", index=True
    )

    @api.constrains("type", "data_type")
    def _constrains_type_and_data_type(self):
        for rec in self:
            if rec.type == const.CODE_TYPE_CODE128 and (
                rec.data_type != const.DATA_TYPE_STRING
            ):
                raise ValidationError(
                    _(
                        "Code %(name)s is a Code 128 barcode, which can only hold a "
                        "short String, not %(data_type)s: set the data type to String "
                        "or use a QR code.",
                        name=rec.name,
                        data_type=rec.data_type,
                    )
                )

    @api.constrains(
        "validity_days", "qrcode_version", "qrcode_box_size", "qrcode_border"
    )
    def _check_numbers(self):
        for rec in self:
            if rec.validity_days < 0:
                raise ValidationError(
                    _("Code %(name)s: the validity cannot be negative.", name=rec.name)
                )
            if rec.qrcode_version and not 1 <= rec.qrcode_version <= 40:
                raise ValidationError(
                    _(
                        "Code %(name)s: the QR version must be between 1 and 40 "
                        "(or empty for automatic).",
                        name=rec.name,
                    )
                )
            if rec.qrcode_box_size < 1 or rec.qrcode_border < 0:
                raise ValidationError(
                    _(
                        "Code %(name)s: the box size must be at least 1 and the "
                        "border at least 0.",
                        name=rec.name,
                    )
                )

    @api.constrains("cwt_prefix")
    def _check_cwt_prefix(self):
        for rec in self:
            bad = sorted(set(rec.cwt_prefix or "") - set(const.CWT_PREFIX_CHARSET))
            if bad:
                raise ValidationError(
                    _(
                        "Code %(name)s: the CWT prefix may only use uppercase letters, "
                        "digits, space and $%%*+-./: (not %(chars)s).",
                        name=rec.name,
                        chars="".join(bad),
                    )
                )

    @api.constrains("body_string")
    def _check_body_string_parses(self):
        for rec in self:
            try:
                check_inline(rec.body_string)
            except TemplateError as exc:
                raise ValidationError(
                    _(
                        "The body template of code %(code)s (payment file config "
                        "%(config)s) does not parse: %(error)s",
                        code=rec.name,
                        config=rec.payment_config_id.name or "-",
                        error=exc,
                    )
                ) from exc

    def _get_issuer(self):
        self.ensure_one()
        if self.issuer:
            return self.issuer
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        return base_url or None

    def _raise_payload_error(self, record, error):
        config_name = self.payment_config_id.name or "-"
        if record:
            raise UserError(
                _(
                    "The payload of code %(code)s (payment file config %(config)s) "
                    "failed for %(model)s %(record)s: %(error)s. Fix the code's body "
                    "template in Payment File Configs.",
                    code=self.name,
                    config=config_name,
                    model=record._description,
                    record=record.display_name,
                    error=error,
                )
            )
        raise UserError(
            _(
                "The payload template of code %(code)s (payment file config "
                "%(config)s) is invalid: %(error)s. Fix the code's body template.",
                code=self.name,
                config=config_name,
                error=error,
            )
        )

    def _render_payloads(self, records, signer=None, now=None):
        """Payload text per record id, signed with ``signer`` for JWT/CWT."""
        self.ensure_one()
        if self.data_type in const.SIGNED_DATA_TYPES and signer is None:
            raise UserError(
                _(
                    "Code %(code)s produces signed %(data_type)s payloads but the "
                    "payment manager has no active signing key: rotate its key.",
                    code=self.name,
                    data_type=self.data_type.upper(),
                )
            )
        try:
            rendered = render_inline(self.env, self.body_string, records)
        except TemplateError as exc:
            self._raise_payload_error(exc.record, exc)
        validity = self.validity_days * 86400 if self.validity_days else None
        issuer = (
            self._get_issuer() if self.data_type in const.SIGNED_DATA_TYPES else None
        )
        now = now or fields.Datetime.now()
        extra = (
            self._extra_claims(records)
            if self.data_type in const.SIGNED_DATA_TYPES
            else {}
        )
        payloads = {}
        for record in records:
            try:
                payloads[record.id] = build_payload(
                    self.data_type,
                    merge_claims(rendered[record.id], extra.get(record.id)),
                    signer=signer,
                    issuer=issuer,
                    validity_seconds=validity,
                    now=now,
                    cwt_prefix=self.cwt_prefix or "",
                )
            except VoucherError as exc:
                self._raise_payload_error(record, exc)
        return payloads

    def _extra_claims(self, records):
        """Claims other addons add to the signed codes: {record id: claims}.

        None here; the redemption addon adds each voucher's status list entry.
        """
        return {}

    def render_datas_and_store(
        self, res_model, res_ids, key_set=None, res_id_field_in_qrcode_model=None
    ):
        """Render and store one code row per record (upstream-compatible API).

        ``key_set`` may be a ``g2p.crypto.key.set`` or an already built signer.
        """
        records = self.env[res_model].browse(res_ids)
        signer = key_set
        if key_set is not None and isinstance(key_set, models.BaseModel):
            signer = key_set._get_signer() if key_set else None
        return self._render_and_store(records, signer, res_id_field_in_qrcode_model)

    def _render_and_store(self, records, signer, res_field):
        vals_list = []
        for config in self:
            payloads = config._render_payloads(records, signer)
            for record in records:
                vals = {"qrcode_config_id": config.id, "data": payloads[record.id]}
                if res_field:
                    vals[res_field] = record.id
                vals_list.append(vals)
        return self.env["g2p.payment.file.qrcode"].create(vals_list)
