import re

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")


def normalize_iban(value):
    return re.sub(r"\s+", "", value or "").upper()


def iban_checksum_ok(iban):
    """ISO 13616 mod-97 check on a normalized IBAN."""
    if not _IBAN_SHAPE.match(iban):
        return False
    moved = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved)
    return int(digits) % 97 == 1


class ResPartnerBank(models.Model):
    _inherit = "res.partner.bank"

    # OpenG2P computes this in g2p_bank from bank country + BIC; the stand-in
    # stores what the registrar enters, normalized and checksum-validated.
    iban = fields.Char("IBAN")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("iban"):
                vals["iban"] = normalize_iban(vals["iban"])
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("iban"):
            vals = dict(vals, iban=normalize_iban(vals["iban"]))
        return super().write(vals)

    @api.constrains("iban")
    def _check_iban(self):
        for rec in self:
            if rec.iban and not iban_checksum_ok(rec.iban):
                raise ValidationError(
                    _(
                        "IBAN %(iban)s of account %(account)s (%(holder)s) is not "
                        "valid: check the country code, check digits and length.",
                        iban=rec.iban,
                        account=rec.acc_number,
                        holder=rec.partner_id.display_name,
                    )
                )
