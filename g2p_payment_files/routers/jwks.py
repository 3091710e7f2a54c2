"""Public JWKS of the voucher signing keys (thin: the model builds the key list)."""

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from odoo.api import Environment

from odoo.addons.fastapi.dependencies import odoo_env

from ..const import JWKS_MAX_AGE

jwks_router = APIRouter(tags=["payment"])


def _etag_matches(if_none_match, etag):
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in candidates


def jwks_response(request: Request, env: Environment) -> Response:
    jwks = env["g2p.crypto.key.set"]._get_published_jwks()
    body = json.dumps(jwks, sort_keys=True, separators=(",", ":")).encode()
    etag = '"%s"' % hashlib.sha256(body).hexdigest()[:40]
    headers = {
        "Cache-Control": "public, max-age=%d" % JWKS_MAX_AGE,
        "ETag": etag,
        "Access-Control-Allow-Origin": "*",
    }
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


@jwks_router.get("/jwks.json", summary="Public keys verifying payment vouchers")
def get_jwks(
    request: Request, env: Annotated[Environment, Depends(odoo_env)]
) -> Response:
    return jwks_response(request, env)


@jwks_router.get("/.well-known/jwks.json", include_in_schema=False)
def get_well_known_jwks(
    request: Request, env: Annotated[Environment, Depends(odoo_env)]
) -> Response:
    return jwks_response(request, env)
