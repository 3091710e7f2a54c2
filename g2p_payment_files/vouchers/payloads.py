"""Turn a rendered template into the payload of a QR code or barcode."""

import datetime
import json
import time

from . import const
from .errors import KeyMaterialError, PayloadError
from .keys import algorithm_for_key, load_private_key
from .tokens import SigningKey, sign_cwt, sign_jwt


class Signer:
    """A parsed signing key and its kid, built once per batch and reused.

    ``key`` is the ``cryptography`` key; ``signing_key`` the python-jose key
    object built from it once, which signs every JWT and CWT of the batch.
    """

    __slots__ = ("key", "kid", "alg", "signing_key")

    def __init__(self, key, kid: str):
        if not kid:
            raise KeyMaterialError("a signing key id (kid) is required")
        self.key = key
        self.kid = kid
        self.alg = algorithm_for_key(key)
        self.signing_key = SigningKey(key, self.alg)

    @classmethod
    def from_pem(cls, pem: str, kid: str, passphrase: str | None = None):
        return cls(load_private_key(pem, passphrase), kid)

    def jwt(self, claims: dict, typ: str | None = None) -> str:
        return sign_jwt(claims, self.signing_key, self.kid, typ=typ)

    def cwt(self, claims: dict, prefix: str = "") -> str:
        return sign_cwt(claims, self.signing_key, self.kid, prefix)

    def __repr__(self):
        return "<Signer %s kid=%s>" % (self.alg, self.kid)


def _reject_constant(name):
    raise ValueError("%s is not valid JSON" % name)


def parse_json_object(rendered: str) -> dict:
    """Parse rendered JSON; errors name the line and column."""
    try:
        value = json.loads(rendered, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            "the rendered payload is not valid JSON (line %d, column %d): %s"
            % (exc.lineno, exc.colno, exc.msg)
        ) from exc
    except ValueError as exc:
        raise PayloadError("the rendered payload is not valid JSON: %s" % exc) from exc
    if not isinstance(value, dict):
        raise PayloadError(
            "the rendered payload must be a JSON object ({...}), not %s"
            % type(value).__name__
        )
    return value


def _epoch(now) -> int:
    if now is None:
        return int(time.time())
    if isinstance(now, datetime.datetime):
        if now.tzinfo is None:  # Odoo datetimes are naive UTC
            now = now.replace(tzinfo=datetime.timezone.utc)
        return int(now.timestamp())
    return int(now)


def build_claims(obj: dict, *, issuer=None, validity_seconds=None, now=None) -> dict:
    """Template claims plus iss, iat and (when a validity is given) exp.

    The system-set claims override same-named template values.
    """
    claims = dict(obj)
    issued_at = _epoch(now)
    if issuer:
        claims["iss"] = issuer
    claims["iat"] = issued_at
    if validity_seconds:
        if validity_seconds < 0:
            raise PayloadError("the voucher validity must be positive")
        claims["exp"] = issued_at + int(validity_seconds)
    return claims


def merge_claims(rendered: str, extra: dict | None) -> str:
    """The rendered claims with ``extra`` claims added (the template's win).

    Left as rendered when there is nothing to add or it is not a JSON object
    (``build_payload`` then says why).
    """
    if not extra:
        return rendered
    try:
        claims = parse_json_object(rendered)
    except PayloadError:
        return rendered
    return json.dumps({**extra, **claims}, ensure_ascii=False)


def build_payload(
    data_type,
    rendered,
    *,
    signer=None,
    issuer=None,
    validity_seconds=None,
    now=None,
    cwt_prefix="",
) -> str:
    """The payload text of one code, per data type (string, json, jwt, cwt)."""
    if data_type not in const.DATA_TYPES:
        raise PayloadError(
            "unknown data type %r; use one of %s"
            % (data_type, ", ".join(const.DATA_TYPES))
        )
    if not isinstance(rendered, str):
        raise PayloadError(
            "the rendered payload must be text, not %s" % type(rendered).__name__
        )
    if not rendered.strip():
        raise PayloadError("the rendered payload is empty; check the template")
    if data_type == const.DATA_TYPE_STRING:
        return rendered
    obj = parse_json_object(rendered)
    if data_type == const.DATA_TYPE_JSON:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if signer is None:
        raise PayloadError(
            "a %s payload needs a signing key; none is configured" % data_type
        )
    claims = build_claims(
        obj, issuer=issuer, validity_seconds=validity_seconds, now=now
    )
    if data_type == const.DATA_TYPE_JWT:
        return signer.jwt(claims)
    return signer.cwt(claims, cwt_prefix)
