"""``GET <payment root>/statuslists/1``: the signed status list, next to the JWKS.

Public like the JWKS (it says which vouchers are spent, not to whom they
belong); cacheable for its ``ttl`` and revalidated with its ETag.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from odoo.api import Environment

from odoo.addons.fastapi.dependencies import odoo_env

from ..redemption import status_list

status_list_router = APIRouter(tags=["voucher status"])


@status_list_router.get(
    f"/statuslists/{status_list.LIST_ID}",
    summary="Token Status List of every voucher (statuslist+jwt)",
    response_class=Response,
)
def voucher_status_list(
    env: Annotated[Environment, Depends(odoo_env)],
    if_none_match: Annotated[str | None, Header()] = None,
):
    token, etag = env["g2p.voucher.status.list"].sudo()._token()
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={status_list.TTL_SECONDS}",
    }
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(content=token, media_type=status_list.MEDIA_TYPE, headers=headers)
