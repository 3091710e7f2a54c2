from odoo import _, api, fields, models


class G2PManagerMixin(models.AbstractModel):
    """Wrapper record pointing at the concrete manager of a program.

    Manager addons register their model by extending
    ``_selection_manager_ref_id`` and appending ``(model, label)``.
    """

    _name = "g2p.manager.mixin"
    _description = "Manager Mixin"

    manager_id = fields.Integer("Manager ID")
    manager_ref_id = fields.Reference(
        string="Manager", selection="_selection_manager_ref_id", required=True
    )

    @api.model
    def _selection_manager_ref_id(self):
        return []

    def open_manager_form(self):
        self.ensure_one()
        manager = self.manager_ref_id
        if not manager:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "title": _("Manager"),
                    "message": _("Select a manager first."),
                    "type": "danger",
                    "sticky": False,
                },
            }
        return {
            "type": "ir.actions.act_window",
            "res_model": manager._name,
            "res_id": manager.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }
