"""JWT (compact JWS) and CWT (COSE_Sign1) signing with python-jose and pycose.

The libraries do the JOSE/COSE work: python-jose builds and signs the JWS,
pycose builds the COSE_Sign1 message, its protected header and its
Sig_structure.  This module only holds policy: the header members, the CWT
claim labels, the CBOR tags, zlib + base45 and the text prefix.

A ``SigningKey`` is built once per batch and reused for every voucher.  Each
COSE signature is made by the same python-jose key object as the JWTs: for
RS256, ES256 and EdDSA, COSE and JOSE use identical signature encodings (RFC
8812 section 2, RFC 9053 sections 2.1 and 2.2).  pycose's own algorithm
classes rebuild the private key from its numbers on every signature (RSA-2048
about 40 ms, ES256 about 1 ms in pure-Python ``ecdsa``), which a batch of
thousands of vouchers cannot afford.

Decoding and verification live in the standalone ``verify.py``, which this
package never imports.
"""

import json
import zlib

import base45
import cbor2
from jose import jws
from jose.exceptions import JOSEError
from pycose.algorithms import CoseAlgorithm
from pycose.headers import KID, Algorithm
from pycose.messages import Sign1Message

from . import const
from .errors import KeyMaterialError, PayloadError
from .keys import algorithm_for_key, jose_key

# The head of CBOR tag 61 (CWT, RFC 8392 section 6): major type 6 with a
# one-byte argument (RFC 8949 section 3).  pycose only emits tag 18 itself.
_CWT_TAG_HEAD = bytes((0xD8, const.CBOR_TAG_CWT))


class SigningKey:
    """A private key prepared once as a python-jose key object, for JWT and CWT."""

    __slots__ = ("_protected", "alg", "cose_alg", "jose_key")

    def __init__(self, key, alg: str | None = None):
        self.alg = alg or algorithm_for_key(key)
        if self.alg not in const.COSE_ALG_BY_NAME:
            raise KeyMaterialError("unsupported signing algorithm %r" % self.alg)
        self.jose_key = jose_key(key, self.alg)
        self.cose_alg = CoseAlgorithm.from_id(const.COSE_ALG_BY_NAME[self.alg])
        self._protected = {}

    def cose_protected(self, kid: str) -> bytes:
        """The encoded COSE protected header {alg, kid}; pycose builds it once."""
        encoded = self._protected.get(kid)
        if encoded is None:
            phdr = {Algorithm: self.cose_alg, KID: kid.encode()}
            encoded = self._protected[kid] = Sign1Message(phdr=phdr).phdr_encoded
        return encoded

    def sign(self, data: bytes) -> bytes:
        try:
            return self.jose_key.sign(data)
        except (JOSEError, AttributeError, TypeError, ValueError) as exc:
            raise KeyMaterialError("cannot sign with this key: %s" % exc) from exc


def _prepared(key, alg):
    return key if isinstance(key, SigningKey) else SigningKey(key, alg)


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


def sign_jwt(
    claims: dict, key, kid: str, *, alg: str | None = None, typ: str | None = None
) -> str:
    """A compact JWS over the JSON claims; header ``{"alg", "kid", "typ": "JWT"}``.

    ``typ``: another media type (e.g. ``statuslist+jwt`` for a status list).

    ``key`` is a ``SigningKey`` (reused across a batch) or a ``cryptography``
    private key.  The claims are serialised here (UTF-8, no NaN) and handed to
    python-jose as bytes.
    """
    _check_kid(kid)
    key = _prepared(key, alg)
    payload = _json_compact(claims)
    try:
        headers = {"kid": kid, **({"typ": typ} if typ else {})}
        return jws.sign(payload, key.jose_key, headers=headers, algorithm=key.alg)
    except JOSEError as exc:
        raise KeyMaterialError("cannot sign the JWT: %s" % exc) from exc


def cwt_claims(claims: dict) -> dict:
    """Map registered claim names to CWT integer keys; ``cti`` becomes bytes."""
    out = {}
    for name, value in claims.items():
        label = const.CWT_CLAIM_KEYS.get(name, name)
        if name == "cti" and isinstance(value, str):
            value = value.encode("utf-8")
        out[label] = value
    return out


class _Sign1(Sign1Message):
    """pycose's COSE_Sign1, signed by a prepared ``SigningKey`` (see the module doc)."""

    def __init__(self, signing_key, **kwargs):
        super().__init__(**kwargs)
        self._signing_key = signing_key

    def compute_signature(self, detached_payload=None, *args, **kwargs):
        return self._signing_key.sign(self._create_sig_structure(detached_payload))


def sign_cwt(
    claims: dict, key, kid: str, prefix: str = "", *, alg: str | None = None
) -> str:
    """A CWT: CBOR tag 61 (CWT) wrapping tag 18 COSE_Sign1, zlib, base45, prefix.

    alg and kid are both in the protected header, so they are covered by the
    signature; the unprotected header is empty.
    """
    _check_kid(kid)
    key = _prepared(key, alg)
    try:
        payload = cbor2.dumps(cwt_claims(claims), canonical=True)
    except (TypeError, ValueError, cbor2.CBOREncodeError) as exc:
        raise PayloadError("the claims cannot be encoded as CBOR: %s" % exc) from exc
    message = _Sign1(key, phdr_encoded=key.cose_protected(kid), payload=payload)
    encoded = _CWT_TAG_HEAD + message.encode(tag=True)
    return prefix + base45.b45encode(zlib.compress(encoded, 9)).decode("ascii")
