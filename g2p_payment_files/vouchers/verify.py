#!/usr/bin/env python3
"""Offline verifier for G2P payment vouchers (signed JWT or CWT payloads).

A standalone script for external verifiers: it needs python-jose (JWS),
pycose (COSE_Sign1), ``cbor2``, ``base45`` and ``cryptography`` -- no Odoo,
nothing else from this repository::

    pip install "python-jose[cryptography]>=3.4.0" pycose cbor2 base45
    python verify.py --jwks https://host/apiv1payment/jwks.json PAYLOAD
    python verify.py --jwks jwks.json --cwt-prefix "G2P:" - < scanned.txt

It accepts a compact JWS (RS256, ES256, EdDSA), checked by ``jose.jws``, or a
CWT (optional prefix, then base45, zlib, CBOR ``COSE_Sign1`` optionally tagged
CWT/61 and COSE/18), checked by pycose.  The signing key is looked up by
``kid`` in the JWKS: a kid that is absent has been revoked or was never
published, and the voucher is rejected.  The algorithm must match the
published key; ``exp`` and ``nbf`` are checked against the current time.

Exit codes: 0 valid (the claims are printed as JSON), 1 invalid, 2 usage error
or JWKS unavailable.
"""

import argparse
import base64
import functools
import json
import sys
import time
import urllib.request
import zlib
from collections.abc import Mapping

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from jose import jwk as jose_jwk
from jose import jws
from jose.backends.base import Key
from jose.exceptions import JOSEError
from jose.utils import base64_to_long, base64url_decode
from pycose.algorithms import CoseAlgorithm, EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import CoseKey
from pycose.messages import Sign1Message


class VerificationError(ValueError):
    """A voucher payload is not authentic, not valid now, or not decodable."""


# Kept here (not imported from the addon) so this file stands alone.
# "Ed25519" (JOSE) and -19 (COSE) are RFC 9864's fully specified names for
# what "EdDSA" / -8 mean with an Ed25519 key; accept both spellings.
_COSE_ALGS = {-7: "ES256", -8: "EdDSA", -19: "Ed25519", -257: "RS256"}
_KTY_FOR_ALG = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP", "Ed25519": "OKP"}
_ALG_ALIASES = {"Ed25519": "EdDSA"}
_CURVES = {"EC": "P-256", "OKP": "Ed25519"}
_PUBLIC_MEMBERS = ("kid", "kty", "crv", "x", "y", "n", "e")
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
_BAD_SIGNATURE = "bad signature: the voucher was altered or forged"
# Only line endings are stripped from a scanned payload (a space is a base45
# digit; it cannot end a zlib stream's encoding, but keep the input exact).
_LINE_NOISE = "\r\n\t\x00"


class Ed25519PublicJoseKey(Key):
    """Verify-only python-jose key for an OKP Ed25519 JWK (python-jose has none)."""

    def __init__(self, jwk, algorithm):
        self._algorithm = algorithm
        raw = base64url_decode(jwk.get("x", "").encode("ascii"))
        self.prepared_key = ed25519.Ed25519PublicKey.from_public_bytes(raw)

    def verify(self, msg, sig):
        try:
            self.prepared_key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def to_pem(self):
        return self.prepared_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


if -19 not in CoseAlgorithm.get_registered_classes():

    @CoseAlgorithm.register_attribute()
    class Ed25519CoseAlgorithm(EdDSA):
        """RFC 9864 "Ed25519" (-19): EdDSA restricted to Ed25519 keys."""

        identifier = -19
        fullname = "ED25519"


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


def _check_algorithm(jwk, alg):
    if alg not in _KTY_FOR_ALG:
        raise VerificationError("unsupported or unsafe algorithm %r" % alg)
    key_alg = _ALG_ALIASES.get(jwk.get("alg", alg), jwk.get("alg", alg))
    if jwk.get("kty") != _KTY_FOR_ALG[alg] or key_alg != _ALG_ALIASES.get(alg, alg):
        # Refuse algorithm confusion: the header must match the published key.
        raise VerificationError(
            "algorithm %r does not match key %r" % (alg, jwk.get("kid"))
        )
    kty = jwk["kty"]
    if kty in _CURVES and jwk.get("crv") != _CURVES[kty]:
        raise VerificationError("unsupported %s curve %r" % (kty, jwk.get("crv")))
    if kty == "RSA":
        try:
            bits = base64_to_long(jwk.get("n") or "").bit_length()
        except (ValueError, TypeError) as exc:
            raise VerificationError("invalid RSA JWK %r" % jwk.get("kid")) from exc
        if bits < _MIN_RSA_BITS:
            raise VerificationError("RSA key %r is too short" % jwk.get("kid"))


@functools.lru_cache(maxsize=64)
def _prepared_keys(jwk_json, alg):
    """(python-jose key, pycose key) of a public JWK, built once per run."""
    jwk = json.loads(jwk_json)
    try:
        if jwk["kty"] == "OKP":
            jose_key = Ed25519PublicJoseKey(jwk, alg)
        else:
            jose_key = jose_jwk.construct(jwk, alg)
        cose_key = CoseKey.from_pem_public_key(jose_key.to_pem().decode("ascii"))
    except (JOSEError, ValueError, TypeError, KeyError) as exc:
        raise VerificationError("invalid JWK %r: %s" % (jwk.get("kid"), exc)) from exc
    return jose_key, cose_key


def prepared_keys(jwk, alg):
    """Check ``alg`` against the JWK, then its (python-jose, pycose) key objects."""
    _check_algorithm(jwk, alg)
    public = {name: jwk[name] for name in _PUBLIC_MEMBERS if name in jwk}
    return _prepared_keys(json.dumps(public, sort_keys=True), alg)


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
    """(header, claims) of a compact JWS, WITHOUT verifying it."""
    try:
        header = jws.get_unverified_header(token)
        claims = json.loads(jws.get_unverified_claims(token))
    except (JOSEError, ValueError, UnicodeDecodeError) as exc:
        raise VerificationError("not a compact JWS: %s" % exc) from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise VerificationError("JWS header and claims must be JSON objects")
    return header, claims


def verify_jwt(token, jwks, *, now=None, leeway=0):
    header, claims = decode_jwt(token)
    if header.get("crit"):
        raise VerificationError("unsupported critical JWS header %r" % header["crit"])
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise VerificationError("the JWS header has no kid")
    alg = header.get("alg")
    jose_key, _cose_key = prepared_keys(find_jwk(jwks, kid), alg)
    try:
        jws.verify(token, jose_key, algorithms=[alg])
    except JOSEError as exc:
        raise VerificationError(_BAD_SIGNATURE) from exc
    check_times(claims, now, leeway)
    return claims


def _cbor_text(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    return value


def _inflate(text, prefix):
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
    return raw


def decode_cwt(text, prefix=""):
    """Decode a prefixed base45/zlib CWT into its parts, WITHOUT verifying it.

    Returns a dict with ``tags`` (outer CBOR tags, e.g. ``[61, 18]``),
    ``message`` (the pycose ``Sign1Message``), ``protected_bytes``,
    ``payload`` (CBOR claims bytes), ``raw_claims`` (CWT integer keys),
    ``claims`` (names: iss, exp, ...), ``kid`` (text, from the protected or
    unprotected header), ``alg`` (JOSE name or None) and ``signature``.
    """
    raw = _inflate(text, prefix)
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
        # cbor2 >= 6 decodes tagged arrays/maps as tuple/frozendict, which
        # pycose's CoseMessage.decode rejects (pycose issue #141): hand pycose
        # the COSE_Sign1 array as a list with a plain dict header.
        if not (isinstance(obj, list | tuple) and len(obj) == 4):
            raise VerificationError("not a COSE_Sign1 structure")
        items = list(obj)
        if isinstance(items[1], Mapping):
            items[1] = dict(items[1])
        if not isinstance(items[0], bytes) or not isinstance(items[3], bytes):
            raise VerificationError("malformed COSE_Sign1 members")
        message = Sign1Message.from_cose_obj(items, allow_unknown_attributes=True)
        raw_claims = cbor2.loads(message.payload)
    except VerificationError:
        raise
    except Exception as exc:  # noqa: BLE001 - pycose raises many types here
        raise VerificationError("invalid CBOR / COSE_Sign1: %s" % exc) from exc
    if not isinstance(raw_claims, dict):
        raise VerificationError("the CWT claims are not a CBOR map")
    claims = {}
    for key, value in raw_claims.items():
        name = _CWT_CLAIM_NAMES.get(key, key)
        claims[name] = _cbor_text(value) if name == "cti" else value
    alg = message.phdr.get(Algorithm)
    return {
        "tags": tags,
        "message": message,
        "protected_bytes": obj[0],
        "payload": message.payload,
        "raw_claims": raw_claims,
        "claims": claims,
        "kid": _cbor_text(message.phdr.get(KID, message.uhdr.get(KID))),
        "alg": _COSE_ALGS.get(getattr(alg, "identifier", None)),
        "signature": message.signature,
    }


def verify_cwt(text, jwks, *, now=None, cwt_prefix="", leeway=0):
    parts = decode_cwt(text, cwt_prefix)
    message = parts["message"]
    if Algorithm not in message.phdr:
        raise VerificationError("the COSE algorithm must be in the protected header")
    if KID not in message.phdr:
        raise VerificationError("the COSE kid must be in the protected header")
    if parts["alg"] is None:
        raise VerificationError(
            "unsupported COSE algorithm %r" % message.phdr[Algorithm]
        )
    _jose_key, cose_key = prepared_keys(find_jwk(jwks, parts["kid"]), parts["alg"])
    message.key = cose_key
    try:
        valid = message.verify_signature()
    except Exception as exc:  # noqa: BLE001 - pycose/ecdsa raise many types
        raise VerificationError(_BAD_SIGNATURE) from exc
    if not valid:
        raise VerificationError(_BAD_SIGNATURE)
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


def load_status_list(source, jwks, *, now=None, timeout=10):
    """The claims of a signed status list (statuslist+jwt) from a URL or file."""
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310
            token = response.read(_MAX_JWKS_BYTES + 1).decode()
    else:
        with open(source, encoding="utf-8") as handle:
            token = handle.read()
    claims = verify_jwt(token.strip(), jwks, now=now)
    if not isinstance(claims.get("status_list"), dict):
        raise VerificationError("%s is not a status list" % source)
    return claims


def check_status(claims, status_list):
    """Raise VerificationError if the list marks this voucher (idx) as not VALID."""
    ref = (claims.get("status") or {}).get("status_list") or {}
    if "idx" not in ref:
        return  # a voucher issued before status lists: nothing to check
    if ref.get("uri") != status_list.get("sub"):
        raise VerificationError("the voucher points at another status list")
    bits = int(status_list["status_list"].get("bits", 1))
    lst = status_list["status_list"]["lst"]
    array = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
    index = int(ref["idx"]) * bits
    value = (
        (array[index // 8] >> (index % 8)) & ((1 << bits) - 1)
        if index // 8 < len(array)
        else 0
    )
    if value:
        raise VerificationError(
            "the voucher is redeemed, cancelled or replaced (status list of %s)"
            % time.strftime(
                "%Y-%m-%d %H:%M UTC", time.gmtime(status_list.get("iat", 0))
            )
        )


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
    parser.add_argument(
        "--status-list", help="statuslist+jwt URL or file: refuse spent vouchers"
    )
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
        if args.status_list:
            check_status(claims, load_status_list(args.status_list, jwks, now=args.now))
    except VerificationError as exc:  # before ValueError: it is one
        sys.stderr.write("invalid: %s\n" % exc)
        return 1
    except (OSError, ValueError) as exc:
        sys.stderr.write(
            "error: cannot load status list %s: %s\n" % (args.status_list, exc)
        )
        return 2
    sys.stdout.write(
        json.dumps(claims, indent=2, sort_keys=True, default=_json_default) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
