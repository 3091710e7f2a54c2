"""Daraja Result and QueueTimeOut callbacks (thin: the manager model does the work).

``POST <root>/daraja/<secret>/result`` and ``.../timeout``.  The per-manager
secret in the path authenticates the caller (Daraja signs nothing); a wrong
secret is a 404, an invalid body a 400 naming the problem, and a repeated or
late callback is acknowledged without changing anything twice.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException

from odoo.api import Environment

from odoo.addons.fastapi.dependencies import odoo_env

from ..mpesa import const
from ..mpesa.daraja_results import CallbackRefused, ResultError

daraja_callback_router = APIRouter(tags=["mpesa"])

CallbackKind = Literal[const.DARAJA_CALLBACK_RESULT, const.DARAJA_CALLBACK_TIMEOUT]


@daraja_callback_router.post(
    "/daraja/{secret}/{kind}", summary="Daraja B2C result or queue timeout"
)
def daraja_callback(
    secret: str,
    kind: CallbackKind,
    body: Annotated[Any, Body()],
    env: Annotated[Environment, Depends(odoo_env)],
) -> dict:
    Manager = env["g2p.program.payment.manager.simple.mpesa"]
    try:
        return Manager.sudo()._daraja_receive_callback(secret, kind, body)
    except CallbackRefused as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except ResultError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
