from odoo import fields, models


class G2PRegistrantID(models.Model):
    _name = "g2p.reg.id"
    _description = "Registrant ID"
    _order = "id"

    partner_id = fields.Many2one(
        "res.partner",
        "Registrant",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("is_registrant", "=", True)],
    )
    id_type = fields.Many2one("g2p.id.type", "ID Type", required=True)
    value = fields.Char(size=100)
    expiry_date = fields.Date()
    description = fields.Char()

    def _compute_display_name(self):
        for rec in self:
            rec.display_name = "%s: %s" % (rec.id_type.name or "", rec.value or "")
