"""Compact JWS (JWT) and COSE_Sign1 (CWT) signing with ``cryptography`` keys.

Signing is done here directly (no JOSE/COSE library): the formats are small,
and it lets one parsed key object sign a whole batch.  Verification lives in
the standalone ``verify.py``.
"""

import json
import zlib

import base45
import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from . import const
from .errors import KeyMaterialError, PayloadError
from .keys import algorithm_for_key, b64url
from .verify import decode_cwt as _decode_cwt


def sign_bytes(key, data: bytes) -> bytes:
    """Signature in JOSE/COSE form (PKCS#1 v1.5 SHA-256, raw r||s, or Ed25519)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if hasattr(key, "sign") and algorithm_for_key(key) == const.ALG_EDDSA:
        return key.sign(data)
    raise KeyMaterialError("cannot sign with %s" % type(key).__name__)


def _check_kid(kid):
    if not kid or not isinstance(kid, str):
        raise KeyMaterialError("a signing key id (kid) is required")


def _json_compact(value) -> bytes:
    try:
        return json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise PayloadError("the claims are not JSON serialisable: %s" % exc) from exc


def sign_jwt(claims: dict, key, kid: str, *, alg: str | None = None) -> str:
    """A compact JWS over the JSON claims; header ``{"alg", "kid", "typ": "JWT"}``."""
    _check_kid(kid)
    header = {"alg": alg or algorithm_for_key(key), "kid": kid, "typ": "JWT"}
    signing_input = b64url(_json_compact(header)) + "." + b64url(_json_compact(claims))
    signature = sign_bytes(key, signing_input.encode("ascii"))
    return signing_input + "." + b64url(signature)


def cwt_claims(claims: dict) -> dict:
    """Map registered claim names to CWT integer keys; ``cti`` becomes bytes."""
    out = {}
    for name, value in claims.items():
        label = const.CWT_CLAIM_KEYS.get(name, name)
        if name == "cti" and isinstance(value, str):
            value = value.encode("utf-8")
        out[label] = value
    return out


def sign_cwt(
    claims: dict, key, kid: str, prefix: str = "", *, alg: str | None = None
) -> str:
    """A CWT: CBOR tag 61 (CWT) wrapping tag 18 COSE_Sign1, zlib, base45, prefix.

    alg and kid are both in the protected header, so they are covered by the
    signature; the unprotected header is empty.
    """
    _check_kid(kid)
    alg = alg or algorithm_for_key(key)
    protected = cbor2.dumps(
        {
            const.COSE_HEADER_ALG: const.COSE_ALG_BY_NAME[alg],
            const.COSE_HEADER_KID: kid.encode(),
        },
        canonical=True,
    )
    try:
        payload = cbor2.dumps(cwt_claims(claims), canonical=True)
    except (TypeError, ValueError, cbor2.CBOREncodeError) as exc:
        raise PayloadError("the claims cannot be encoded as CBOR: %s" % exc) from exc
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    signature = sign_bytes(key, to_be_signed)
    sign1 = cbor2.CBORTag(
        const.CBOR_TAG_COSE_SIGN1, [protected, {}, payload, signature]
    )
    encoded = cbor2.dumps(cbor2.CBORTag(const.CBOR_TAG_CWT, sign1))
    return prefix + base45.b45encode(zlib.compress(encoded, 9)).decode("ascii")


def decode_cwt(text: str, prefix: str = "") -> dict:
    """Decode a CWT produced by ``sign_cwt`` WITHOUT verifying it.

    See ``verify.decode_cwt`` for the keys (protected, unprotected, claims,
    raw_claims, kid, alg, signature, signed, tags, ...).
    """
    return _decode_cwt(text, prefix)
