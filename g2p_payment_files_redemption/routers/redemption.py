"""Voucher redemption for the devices of redemption points (thin).

``POST <root>/vouchers/check`` {code}, ``POST <root>/vouchers/redeem``
{code, transaction_id}, and ``POST <root>/vouchers/sync`` {items: [{code,
transaction_id, redeemed_at}]} for redemptions made offline; authenticated
by the device's key (``Authorization: Bearer g2pr_...``).  Refusals are 4xx
answers with a stable ``code`` and a message a cashier understands; they are
answered, not raised, so that the refusal log is kept.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from odoo.api import Environment

from odoo.addons.fastapi.dependencies import odoo_env

from ..models.voucher_redemption_service import RedemptionRefused
from ..redemption import const

redemption_router = APIRouter(tags=["voucher redemption"])


class CheckRequest(BaseModel):
    code: str = Field(
        max_length=const.MAX_CODE_LENGTH,
        description="The voucher's QR code or barcode text, as scanned or typed.",
    )


class RedeemRequest(CheckRequest):
    transaction_id: str = Field(
        min_length=1,
        max_length=const.MAX_TXN_ID_LENGTH,
        description="The device's own id of this redemption: sending it again "
        "gets the same answer, never a second payment.",
    )


class SyncItem(RedeemRequest):
    redeemed_at: str | None = Field(
        default=None,
        max_length=40,
        description="When the point paid it (UTC, YYYY-MM-DD HH:MM:SS); "
        "default: when it arrives.",
    )


class SyncRequest(BaseModel):
    items: list[SyncItem] = Field(
        description="Redemptions made offline, in any order; at most "
        f"{const.MAX_SYNC_ITEMS} per request."
    )


def _device(env, authorization):
    scheme, _sep, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return env["g2p.redemption.device"].browse()
    return env["g2p.redemption.device"].sudo()._authenticate(key)


def _refused(status, code, message):
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message}}
    )


def _run(env, authorization, action, body, call):
    device = _device(env, authorization)
    if not device:
        return _refused(
            401,
            const.ERR_UNAUTHENTICATED,
            "This device is not registered or its key was revoked; ask the program "
            "officer for a new key.",
        )
    service = env["g2p.voucher.redemption.service"].sudo()
    try:
        return call(service, device)
    except RedemptionRefused as refusal:
        service._log_refusal(
            device, action, refusal, body.code, getattr(body, "transaction_id", None)
        )
        return JSONResponse(
            status_code=refusal.http_status, content={"error": refusal.as_dict()}
        )


@redemption_router.post("/vouchers/check", summary="Is this voucher payable here?")
def check_voucher(
    body: CheckRequest,
    env: Annotated[Environment, Depends(odoo_env)],
    authorization: Annotated[str | None, Header()] = None,
) -> dict:
    return _run(
        env, authorization, "check", body, lambda svc, dev: svc._check(dev, body.code)
    )


@redemption_router.post("/vouchers/redeem", summary="Pay this voucher, exactly once")
def redeem_voucher(
    body: RedeemRequest,
    env: Annotated[Environment, Depends(odoo_env)],
    authorization: Annotated[str | None, Header()] = None,
) -> dict:
    return _run(
        env,
        authorization,
        "redeem",
        body,
        lambda svc, dev: svc._redeem(dev, body.code, body.transaction_id),
    )


@redemption_router.post(
    "/vouchers/sync", summary="Apply redemptions made offline, each exactly once"
)
def sync_redemptions(
    body: SyncRequest,
    env: Annotated[Environment, Depends(odoo_env)],
    authorization: Annotated[str | None, Header()] = None,
) -> dict:
    items = [item.model_dump() for item in body.items]
    return _run(
        env,
        authorization,
        "sync",
        _NoCode(),
        lambda svc, dev: svc._sync(dev, items),
    )


class _NoCode:
    """A batch refused as a whole names no single code."""

    code = None
