from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    reg_ids = fields.One2many("g2p.reg.id", "partner_id", "Registrant IDs")
    is_registrant = fields.Boolean("Registrant", index=True)
    is_group = fields.Boolean("Group")
    registration_date = fields.Date(default=fields.Date.context_today)

    def get_reg_id(self, id_type):
        """Value of the first ID of the given type (g2p.id.type record or name)."""
        self.ensure_one()
        type_name = id_type if isinstance(id_type, str) else id_type.name
        reg = self.reg_ids.filtered(lambda r: r.id_type.name == type_name)[:1]
        return reg.value or False
