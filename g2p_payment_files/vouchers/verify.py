#!/usr/bin/env python3
"""Offline verifier for G2P payment vouchers (signed JWT or CWT payloads).

A standalone script for external verifiers: it only needs ``cryptography``,
``cbor2`` and ``base45`` (no Odoo, nothing else from this repository)::

    python verify.py --jwks https://host/apiv1payment/jwks.json PAYLOAD
    python verify.py --jwks jwks.json --cwt-prefix "G2P:" - < scanned.txt

It accepts a compact JWS (RS256, ES256, EdDSA) or a CWT (optional prefix,
then base45, zlib, CBOR ``COSE_Sign1`` optionally tagged CWT/61 and COSE/18).
The signing key is looked up by ``kid`` in the JWKS: a kid that is absent has
been revoked or was never published, and the voucher is rejected.  ``exp`` and
``nbf`` are checked against the current time.

Exit codes: 0 valid (the claims are printed as JSON), 1 invalid, 2 usage error
or JWKS unavailable.
"""

import argparse
import base64
import binascii
import json
import sys
import time
import urllib.request
import zlib
from collections.abc import Mapping

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


class VoucherError(ValueError):
    """Base class of every voucher error (re-exported by ``errors.py``)."""


class VerificationError(VoucherError):
    """A voucher payload is not authentic, not valid now, or not decodable."""


# Kept here (not imported from const.py) so this file stands alone.
# "Ed25519" (JOSE) and -19 (COSE) are RFC 9864's fully specified names for
# what "EdDSA" / -8 mean with an Ed25519 key; accept both spellings.
_COSE_ALGS = {-7: "ES256", -8: "EdDSA", -19: "Ed25519", -257: "RS256"}
_KTY_FOR_ALG = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP", "Ed25519": "OKP"}
_ALG_ALIASES = {"Ed25519": "EdDSA"}
_CWT_CLAIM_NAMES = {
    1: "iss",
    2: "sub",
    3: "aud",
    4: "exp",
    5: "nbf",
    6: "iat",
    7: "cti",
}
_CBOR_TAG_CWT = 61
_CBOR_TAG_COSE_SIGN1 = 18
_MAX_CWT_BYTES = 64 * 1024  # decompression-bomb guard; vouchers are < 3 KB
_MIN_RSA_BITS = 2048
_MAX_JWKS_BYTES = 1024 * 1024
# Only line endings are stripped from a scanned payload (a space is a base45
# digit; it cannot end a zlib stream's encoding, but keep the input exact).
_LINE_NOISE = "\r\n\t\x00"


def b64url_decode(text):
    """Decode unpadded base64url, raising ``VerificationError`` on junk."""
    if isinstance(text, str):
        text = text.encode("ascii", "strict")
    try:
        return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("invalid base64url data") from exc


def _int_from_b64(value, name):
    if not isinstance(value, str) or not value:
        raise VerificationError("JWK member %r is missing or not a string" % name)
    return int.from_bytes(b64url_decode(value), "big")


def public_key_from_jwk(jwk):
    """Return a ``cryptography`` public key for an RSA, EC P-256 or Ed25519 JWK."""
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            key = rsa.RSAPublicNumbers(
                _int_from_b64(jwk.get("e"), "e"), _int_from_b64(jwk.get("n"), "n")
            ).public_key()
            if key.key_size < _MIN_RSA_BITS:
                raise VerificationError("RSA key %r is too short" % jwk.get("kid"))
            return key
        if kty == "EC":
            if jwk.get("crv") != "P-256":
                raise VerificationError("unsupported EC curve %r" % jwk.get("crv"))
            return ec.EllipticCurvePublicNumbers(
                _int_from_b64(jwk.get("x"), "x"),
                _int_from_b64(jwk.get("y"), "y"),
                ec.SECP256R1(),
            ).public_key()
        if kty == "OKP":
            if jwk.get("crv") != "Ed25519":
                raise VerificationError("unsupported OKP curve %r" % jwk.get("crv"))
            return ed25519.Ed25519PublicKey.from_public_bytes(
                b64url_decode(jwk.get("x") or "")
            )
    except VerificationError:
        raise
    except ValueError as exc:
        raise VerificationError("invalid JWK %r: %s" % (jwk.get("kid"), exc)) from exc
    raise VerificationError("unsupported JWK key type %r" % kty)


def find_jwk(jwks, kid):
    """The JWK of ``kid`` in a JWKS; an absent kid means revoked/unpublished."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        raise VerificationError('the JWKS has no "keys" list')
    for jwk in keys:
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            if jwk.get("use", "sig") != "sig":
                raise VerificationError("key %r is not a signing key" % kid)
            return jwk
    raise VerificationError(
        "unknown key id %r: the key was revoked or is not published in the JWKS" % kid
    )


def verify_signature(jwk, alg, signature, signed):
    """Check ``signature`` over ``signed`` with the JWK; raw r||s for ES256."""
    if alg not in _KTY_FOR_ALG:
        raise VerificationError("unsupported or unsafe algorithm %r" % alg)
    key_alg = _ALG_ALIASES.get(jwk.get("alg", alg), jwk.get("alg", alg))
    if jwk.get("kty") != _KTY_FOR_ALG[alg] or key_alg != _ALG_ALIASES.get(alg, alg):
        # Refuse algorithm confusion: the header must match the published key.
        raise VerificationError(
            "algorithm %r does not match key %r" % (alg, jwk.get("kid"))
        )
    key = public_key_from_jwk(jwk)
    try:
        if alg == "RS256":
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            if len(signature) != 64:
                raise VerificationError("bad signature: ES256 needs 64 bytes")
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"),
                int.from_bytes(signature[32:], "big"),
            )
            key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        else:
            key.verify(signature, signed)
    except InvalidSignature as exc:
        raise VerificationError(
            "bad signature: the voucher was altered or forged"
        ) from exc


def check_times(claims, now=None, leeway=0):
    """Reject expired (``exp``) or not yet valid (``nbf``) claims."""
    now = time.time() if now is None else now
    for name in ("exp", "nbf", "iat"):
        if name in claims and not isinstance(claims[name], int | float):
            raise VerificationError("claim %r must be a number" % name)
    if "exp" in claims and now > claims["exp"] + leeway:
        raise VerificationError("the voucher expired at %s" % _utc(claims["exp"]))
    if "nbf" in claims and now + leeway < claims["nbf"]:
        raise VerificationError(
            "the voucher is not valid before %s" % _utc(claims["nbf"])
        )


def _utc(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def looks_like_jwt(payload):
    parts = payload.split(".")
    return len(parts) == 3 and all(parts[:2]) and parts[0].startswith("eyJ")


def decode_jwt(token):
    """Split a compact JWS: (header, claims, signature, signing input); no checks."""
    try:
        head_b64, body_b64, sig_b64 = token.split(".")
        header = json.loads(b64url_decode(head_b64))
        claims = json.loads(b64url_decode(body_b64))
    except (ValueError, UnicodeDecodeError) as exc:
        raise VerificationError("not a compact JWS: %s" % exc) from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise VerificationError("JWS header and claims must be JSON objects")
    return (
        header,
        claims,
        b64url_decode(sig_b64),
        ("%s.%s" % (head_b64, body_b64)).encode(),
    )


def verify_jwt(token, jwks, *, now=None, leeway=0):
    header, claims, signature, signed = decode_jwt(token)
    if header.get("crit"):
        raise VerificationError("unsupported critical JWS header %r" % header["crit"])
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise VerificationError("the JWS header has no kid")
    verify_signature(find_jwk(jwks, kid), header.get("alg"), signature, signed)
    check_times(claims, now, leeway)
    return claims


def _cbor_text(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    return value


def decode_cwt(text, prefix=""):
    """Decode a prefixed base45/zlib CWT into its parts, WITHOUT verifying it.

    Returns a dict with ``tags`` (outer CBOR tags, e.g. ``[61, 18]``),
    ``protected`` / ``unprotected`` headers (COSE labels), ``protected_bytes``,
    ``payload`` (CBOR claims bytes), ``raw_claims`` (CWT integer keys),
    ``claims`` (names: iss, exp, ...), ``kid`` (text), ``alg`` (JOSE name or
    None), ``signature`` and ``signed`` (the COSE Sig_structure bytes).
    """
    text = text.strip(_LINE_NOISE)
    if prefix:
        if not text.startswith(prefix):
            raise VerificationError("the payload does not start with %r" % prefix)
        text = text[len(prefix) :]
    try:
        compressed = base45.b45decode(text)
    except (ValueError, KeyError) as exc:
        raise VerificationError("not base45 data: %s" % exc) from exc
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, _MAX_CWT_BYTES)
        if inflater.unconsumed_tail:
            raise VerificationError("the CWT is larger than %d bytes" % _MAX_CWT_BYTES)
    except zlib.error as exc:
        hint = "" if prefix else " (does the payload have a prefix to pass?)"
        raise VerificationError("not zlib data: %s%s" % (exc, hint)) from exc
    try:
        obj = cbor2.loads(raw)
        tags = []
        while isinstance(obj, cbor2.CBORTag):
            tags.append(obj.tag)
            obj = obj.value
        if tags not in (
            [],
            [_CBOR_TAG_COSE_SIGN1],
            [_CBOR_TAG_CWT, _CBOR_TAG_COSE_SIGN1],
        ):
            raise VerificationError("unexpected CBOR tags %r" % tags)
        # cbor2 decodes tagged arrays/maps as tuple/frozendict.
        if not (isinstance(obj, list | tuple) and len(obj) == 4):
            raise VerificationError("not a COSE_Sign1 structure")
        protected_bytes, unprotected, payload, signature = obj
        protected = cbor2.loads(protected_bytes) if protected_bytes else {}
        raw_claims = cbor2.loads(payload)
        if isinstance(unprotected, Mapping):
            unprotected = dict(unprotected)
    except VerificationError:
        raise
    except (cbor2.CBORDecodeError, TypeError, ValueError) as exc:
        raise VerificationError("invalid CBOR: %s" % exc) from exc
    if not (
        isinstance(protected, dict)
        and isinstance(unprotected, dict)
        and isinstance(raw_claims, dict)
        and isinstance(signature, bytes)
    ):
        raise VerificationError("malformed COSE_Sign1 members")
    claims = {}
    for key, value in raw_claims.items():
        name = _CWT_CLAIM_NAMES.get(key, key)
        claims[name] = _cbor_text(value) if name == "cti" else value
    kid = protected.get(4, unprotected.get(4))
    signed = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    return {
        "tags": tags,
        "protected": protected,
        "unprotected": unprotected,
        "protected_bytes": protected_bytes,
        "payload": payload,
        "raw_claims": raw_claims,
        "claims": claims,
        "kid": _cbor_text(kid),
        "alg": _COSE_ALGS.get(protected.get(1)),
        "signature": signature,
        "signed": signed,
    }


def verify_cwt(text, jwks, *, now=None, cwt_prefix="", leeway=0):
    parts = decode_cwt(text, cwt_prefix)
    if 1 not in parts["protected"]:
        raise VerificationError("the COSE algorithm must be in the protected header")
    if 4 not in parts["protected"]:
        raise VerificationError("the COSE kid must be in the protected header")
    if parts["alg"] is None:
        raise VerificationError("unsupported COSE algorithm %r" % parts["protected"][1])
    jwk = find_jwk(jwks, parts["kid"])
    verify_signature(jwk, parts["alg"], parts["signature"], parts["signed"])
    check_times(parts["claims"], now, leeway)
    return parts["claims"]


def verify_payload(payload, jwks, *, now=None, cwt_prefix="", leeway=0):
    """Verify a JWT or CWT voucher payload against a JWKS; return its claims."""
    if not isinstance(payload, str):
        raise VerificationError("the payload must be text")
    payload = payload.strip(_LINE_NOISE)
    if not payload:
        raise VerificationError("empty payload")
    if looks_like_jwt(payload):
        return verify_jwt(payload, jwks, now=now, leeway=leeway)
    return verify_cwt(payload, jwks, now=now, cwt_prefix=cwt_prefix, leeway=leeway)


def load_jwks(source, timeout=10):
    """Read a JWKS from an http(s) URL or a file path."""
    if source.startswith(("https://", "http://")):
        request = urllib.request.Request(source, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = response.read(_MAX_JWKS_BYTES + 1)
        if len(data) > _MAX_JWKS_BYTES:
            raise ValueError("the JWKS is larger than %d bytes" % _MAX_JWKS_BYTES)
    else:
        with open(source, "rb") as handle:
            data = handle.read()
    jwks = json.loads(data)
    if isinstance(jwks, dict) and "kty" in jwks:
        jwks = {"keys": [jwks]}
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError('no "keys" list in %s' % source)
    return jwks


def _json_default(value):
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError("not JSON serialisable: %r" % type(value))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Verify a signed G2P payment voucher payload (JWT or CWT) offline."
    )
    parser.add_argument("--jwks", required=True, help="JWKS URL or file")
    parser.add_argument("--cwt-prefix", default="", help='CWT text prefix, e.g. "HC1:"')
    parser.add_argument("--now", type=float, help="check times against this epoch")
    parser.add_argument("--leeway", type=int, default=0, help="clock skew, seconds")
    parser.add_argument("payload", help="the scanned payload, or - to read stdin")
    args = parser.parse_args(argv)
    payload = sys.stdin.read() if args.payload == "-" else args.payload
    try:
        jwks = load_jwks(args.jwks)
    except (OSError, ValueError) as exc:
        sys.stderr.write("error: cannot load JWKS %s: %s\n" % (args.jwks, exc))
        return 2
    try:
        claims = verify_payload(
            payload, jwks, now=args.now, cwt_prefix=args.cwt_prefix, leeway=args.leeway
        )
    except VerificationError as exc:
        sys.stderr.write("invalid: %s\n" % exc)
        return 1
    sys.stdout.write(
        json.dumps(claims, indent=2, sort_keys=True, default=_json_default) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
