from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from odoo import fields, models

from ..routers import jwks_router


class FastapiEndpoint(models.Model):
    _inherit = "fastapi.endpoint"

    app = fields.Selection(
        selection_add=[("payment", "Payment")], ondelete={"payment": "cascade"}
    )

    def _get_fastapi_routers(self):
        if self.app == "payment":
            return [jwks_router]
        return super()._get_fastapi_routers()

    def _get_fastapi_app_middlewares(self):
        middlewares = super()._get_fastapi_app_middlewares()
        if self.app == "payment":
            # Public keys: any web verifier may fetch them (read-only, no cookies).
            middlewares.append(
                Middleware(
                    CORSMiddleware,
                    allow_origins=["*"],
                    allow_methods=["GET"],
                    allow_headers=["If-None-Match"],
                    expose_headers=["ETag"],
                    max_age=86400,
                )
            )
        return middlewares
