"""The Mpesa callbacks app of the OCA fastapi addon (Daraja results)."""

from odoo import fields, models

from ..mpesa import const
from ..routers.daraja_callbacks import daraja_callback_router


class FastapiEndpointDaraja(models.Model):
    _inherit = "fastapi.endpoint"

    app = fields.Selection(
        selection_add=[(const.DARAJA_FASTAPI_APP, "Mpesa callbacks")],
        ondelete={const.DARAJA_FASTAPI_APP: "cascade"},
    )

    def _get_fastapi_routers(self):
        if self.app == const.DARAJA_FASTAPI_APP:
            return [daraja_callback_router]
        return super()._get_fastapi_routers()
