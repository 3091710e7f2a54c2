from odoo import fields, models

from ..routers import redemption_router, status_list_router


class FastapiEndpoint(models.Model):
    _inherit = "fastapi.endpoint"

    app = fields.Selection(
        selection_add=[("voucher_redemption", "Voucher Redemption")],
        ondelete={"voucher_redemption": "cascade"},
    )

    def _get_fastapi_routers(self):
        if self.app == "voucher_redemption":
            return [redemption_router]
        routers = super()._get_fastapi_routers()
        if self.app == "payment":
            # Published next to the JWKS, for the same offline verifiers.
            routers = [*routers, status_list_router]
        return routers
