from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class G2PIDType(models.Model):
    _name = "g2p.id.type"
    _description = "Registrant ID Type"
    _order = "name, id"

    name = fields.Char(required=True)

    @api.constrains("name")
    def _check_name_unique(self):
        for rec in self:
            twins = self.search_count(
                [("name", "=ilike", rec.name), ("id", "!=", rec.id)]
            )
            if twins:
                raise ValidationError(
                    _(
                        "ID type %(name)s already exists; reuse the existing one.",
                        name=rec.name,
                    )
                )
