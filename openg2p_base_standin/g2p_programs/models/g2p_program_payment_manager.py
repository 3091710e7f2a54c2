from odoo import api, fields, models


class G2PProgramPaymentManager(models.Model):
    _name = "g2p.program.payment.manager"
    _description = "Payment Manager"
    _inherit = "g2p.manager.mixin"

    program_id = fields.Many2one("g2p.program", ondelete="cascade")

    @api.model
    def _selection_manager_ref_id(self):
        selection = super()._selection_manager_ref_id()
        entry = ("g2p.program.payment.manager.default", "Default")
        if entry not in selection:
            selection.append(entry)
        return selection
