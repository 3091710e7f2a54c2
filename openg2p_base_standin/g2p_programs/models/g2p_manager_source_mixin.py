from odoo import models


class G2PManagerSourceMixin(models.AbstractModel):
    """Concrete managers: drop the program's wrapper record with the manager."""

    _name = "g2p.manager.source.mixin"
    _description = "Manager Data Source Mixin"

    def unlink(self):
        refs = ["%s,%s" % (rec._name, rec.id) for rec in self]
        wrappers = self.env["g2p.program.payment.manager"].search(
            [("manager_ref_id", "in", refs)]
        )
        wrappers.unlink()
        return super().unlink()

    def get_manager_view_id(self):
        return (
            self.env["ir.ui.view"]
            .search([("model", "=", self._name), ("type", "=", "form")], limit=1)
            .id
        )
