"""Read the claims of a JWT or CWT this package signed, WITHOUT verifying it.

The voucher prints what its signed code carries (issue and expiry dates): the
claims are read back from the payload itself, so the printed dates are the
signed ones.  Nothing here checks a signature: verifying is ``verify.py``'s
job, on the verifier's side.
"""

import base64
import datetime
import json
import zlib

import base45
import cbor2

from . import const
from .errors import PayloadError

# A voucher's CWT is < 3 KB; never inflate more than this (zip bombs).
_MAX_CWT_BYTES = 64 * 1024


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_claims(token: str) -> dict:
    """The claims (payload) of a compact JWS."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3:
        raise PayloadError("not a compact JWS (three dot-separated parts)")
    try:
        claims = json.loads(_b64url(parts[1]))
    except (ValueError, UnicodeError) as exc:
        raise PayloadError("the JWT payload is not base64url JSON: %s" % exc) from exc
    if not isinstance(claims, dict):
        raise PayloadError("the JWT payload is not a JSON object")
    return claims


def _untag(value):
    while isinstance(value, cbor2.CBORTag) and value.tag in (
        const.CBOR_TAG_CWT,
        const.CBOR_TAG_COSE_SIGN1,
    ):
        value = value.value
    return value


def cwt_claims(text: str, prefix: str = "") -> dict:
    """The claims of a CWT: prefix, base45, zlib, COSE_Sign1, CBOR map."""
    text = (text or "").strip()
    if prefix and text.startswith(prefix):
        text = text[len(prefix) :]
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base45.b45decode(text), _MAX_CWT_BYTES)
        if inflater.unconsumed_tail:
            raise PayloadError("the CWT is larger than %d bytes" % _MAX_CWT_BYTES)
        message = _untag(cbor2.loads(raw))
        if not isinstance(message, (list, tuple)) or len(message) != 4:
            raise PayloadError("the CWT is not a COSE_Sign1 message")
        claims = cbor2.loads(message[2])
    except PayloadError:
        raise
    except (ValueError, zlib.error, cbor2.CBORDecodeError, TypeError) as exc:
        raise PayloadError("the CWT cannot be decoded: %s" % exc) from exc
    if not isinstance(claims, dict):
        raise PayloadError("the CWT claims are not a CBOR map")
    return {const.CWT_CLAIM_NAMES.get(key, key): value for key, value in claims.items()}


def read_claims(data_type: str, payload: str, cwt_prefix: str = "") -> dict:
    """Claims of a signed payload of ``data_type`` (jwt or cwt); {} for others."""
    if data_type == const.DATA_TYPE_JWT:
        return jwt_claims(payload)
    if data_type == const.DATA_TYPE_CWT:
        return cwt_claims(payload, cwt_prefix)
    return {}


def claim_datetime(claims: dict, name: str):
    """A NumericDate claim (iat, exp, nbf) as a naive UTC datetime, or None."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    moment = datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    return moment.replace(tzinfo=None)
