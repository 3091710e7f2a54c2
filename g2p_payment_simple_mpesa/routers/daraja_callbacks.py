"""Daraja callbacks (thin: the manager model does the work).

``POST <root>/daraja/<secret>/result`` and ``.../timeout`` for payments,
``.../status`` and ``.../status-timeout`` for Transaction Status queries.
The per-manager secret in the path authenticates the caller (Daraja signs
nothing).  A wrong secret is a 404; for a known manager, a caller outside its
allow-list is a 403, a body over the size limit a 413, an invalid body a 400
naming the problem and an unknown payment a 404, each counted on the manager.
A repeated or late callback is acknowledged without changing anything twice.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from odoo.api import Environment

from odoo.addons.fastapi.dependencies import odoo_env

from ..mpesa import const
from ..mpesa.callback_guard import CallbackForbidden, CallbackTooLarge
from ..mpesa.daraja_results import CallbackRefused, ResultError

daraja_callback_router = APIRouter(tags=["mpesa"])

CallbackKind = Literal[
    const.DARAJA_CALLBACK_RESULT,
    const.DARAJA_CALLBACK_TIMEOUT,
    const.DARAJA_CALLBACK_STATUS,
    const.DARAJA_CALLBACK_STATUS_TIMEOUT,
]


@daraja_callback_router.post(
    "/daraja/{secret}/{kind}",
    summary="Daraja B2C result, queue timeout, or Transaction Status result",
)
def daraja_callback(
    secret: str,
    kind: CallbackKind,
    body: Annotated[Any, Body()],
    request: Request,
    env: Annotated[Environment, Depends(odoo_env)],
) -> dict:
    Manager = env["g2p.program.payment.manager.simple.mpesa"].sudo()
    try:
        manager = Manager._daraja_manager_for_secret(secret)
    except CallbackRefused as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    size = request.headers.get("content-length")
    caller = (
        request.client.host if request.client else "",
        request.headers.get("x-forwarded-for", ""),
        int(size) if size and size.isdigit() else None,
    )
    try:
        return Manager._daraja_receive_callback(secret, kind, body, caller=caller)
    except ResultError as exc:
        status = 400
        detail = str(exc)
    except CallbackRefused as exc:
        status = 404
        detail = str(exc)
    except CallbackForbidden as exc:
        status = 403
        detail = str(exc)
    except CallbackTooLarge as exc:
        status = 413
        detail = str(exc)
    # Answered, not raised: the refusal is counted in this transaction.
    manager._daraja_count_refusal(status, detail)
    return JSONResponse(status_code=status, content={"detail": detail})
