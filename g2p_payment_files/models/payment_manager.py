from odoo import api, models


class G2PPaymentManager(models.Model):
    _inherit = "g2p.program.payment.manager"

    @api.model
    def _selection_manager_ref_id(self):
        selection = super()._selection_manager_ref_id()
        entry = ("g2p.program.payment.manager.file", "File Payment Manager")
        if entry not in selection:
            selection.append(entry)
        return selection
