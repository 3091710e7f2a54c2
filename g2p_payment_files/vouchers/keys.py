"""Signing keys: generation, PEM (optionally encrypted), JWK, thumbprint, X.509.

JWK export goes through python-jose key objects (``jose.jwk.construct``; the
Ed25519 one comes from ``okp.py``).  python-jose has no RFC 7638 thumbprint,
so ``jwk_thumbprint`` is the short spec-based function below.
"""

import base64
import datetime
import functools
import hashlib
import ipaddress
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from jose import jwk as jose_jwk
from jose.exceptions import JOSEError
from jose.utils import base64url_encode

from . import const, okp  # noqa: F401 - okp registers EdDSA with python-jose
from .errors import KeyMaterialError

_PRIVATE_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
)
_JWK_REQUIRED = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def generate_private_key(kty: str, size: int | None = None):
    """A new private key: RSA (2048/3072/4096 bits), EC P-256 or OKP Ed25519."""
    if kty == const.KTY_RSA:
        size = size or const.RSA_DEFAULT_SIZE
        if size not in const.RSA_SIZES:
            raise KeyMaterialError(
                "RSA key size %s is not supported; use one of %s"
                % (size, ", ".join(map(str, const.RSA_SIZES)))
            )
        return rsa.generate_private_key(const.RSA_PUBLIC_EXPONENT, size)
    if size is not None:
        raise KeyMaterialError("a key size only applies to RSA keys, not %s" % kty)
    if kty == const.KTY_EC:
        return ec.generate_private_key(ec.SECP256R1())
    if kty == const.KTY_OKP:
        return ed25519.Ed25519PrivateKey.generate()
    raise KeyMaterialError(
        "unknown key type %r; use one of %s" % (kty, ", ".join(const.KEY_TYPES))
    )


def private_key_to_pem(key, passphrase: str | None = None) -> str:
    """PKCS#8 PEM, encrypted with the passphrase (best available cipher) if given."""
    if not isinstance(key, _PRIVATE_TYPES):
        raise KeyMaterialError("not a supported private key: %r" % type(key).__name__)
    if passphrase:
        encryption = serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
    else:
        encryption = serialization.NoEncryption()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode("ascii")


@functools.lru_cache(maxsize=64)
def _load_private_key(pem: str, passphrase: str | None):
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password)
    except TypeError as exc:
        # cryptography signals a passphrase/encryption mismatch with TypeError.
        if password is None:
            raise KeyMaterialError(
                "the private key is encrypted: a passphrase is required to load it"
            ) from exc
        raise KeyMaterialError(
            "a passphrase was given but the private key is not encrypted"
        ) from exc
    except ValueError as exc:
        if password is not None and "ENCRYPTED" in pem:
            raise KeyMaterialError(
                "wrong passphrase: the encrypted private key could not be decrypted"
            ) from exc
        raise KeyMaterialError(
            "the private key is not a valid PEM key: %s" % exc
        ) from exc
    if not isinstance(key, _PRIVATE_TYPES):
        raise KeyMaterialError(
            "unsupported private key type %s; use RSA, EC P-256 or Ed25519"
            % type(key).__name__
        )
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name != "secp256r1":
        raise KeyMaterialError("unsupported EC curve %s; use P-256" % key.curve.name)
    return key


def load_private_key(pem: str, passphrase: str | None = None):
    """Parse a PEM private key; parsed keys are cached (RSA parsing costs ~45 ms)."""
    if not pem or not isinstance(pem, str) or "PRIVATE KEY" not in pem:
        raise KeyMaterialError("no PEM private key given")
    try:
        pem.encode("ascii")
    except UnicodeEncodeError as exc:
        raise KeyMaterialError("the private key PEM contains non-ASCII text") from exc
    return _load_private_key(pem, passphrase or None)


def _public(key):
    return key.public_key() if isinstance(key, _PRIVATE_TYPES) else key


def algorithm_for_key(key) -> str:
    """The JWS algorithm a key signs with: RS256, ES256 or EdDSA."""
    key = _public(key)
    if isinstance(key, rsa.RSAPublicKey):
        return const.ALG_RS256
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name != "secp256r1":
            raise KeyMaterialError(
                "unsupported EC curve %s; use P-256" % key.curve.name
            )
        return const.ALG_ES256
    if isinstance(key, ed25519.Ed25519PublicKey):
        return const.ALG_EDDSA
    raise KeyMaterialError("unsupported key type %s" % type(key).__name__)


def jose_key(key, alg: str | None = None):
    """The python-jose key object of a ``cryptography`` key (build it once, reuse)."""
    alg = alg or algorithm_for_key(key)
    try:
        return jose_jwk.construct(key, alg)
    except JOSEError as exc:
        raise KeyMaterialError("unusable %s key: %s" % (alg, exc)) from exc


def _spki(key) -> bytes:
    return _public(key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 of the required members, base64url."""
    required = _JWK_REQUIRED.get(jwk.get("kty"))
    if required is None:
        raise KeyMaterialError(
            "cannot take the thumbprint of key type %r" % jwk.get("kty")
        )
    missing = [name for name in required if not jwk.get(name)]
    if missing:
        raise KeyMaterialError("the JWK lacks member(s) %s" % ", ".join(missing))
    canonical = json.dumps(
        {name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64url_encode(digest).decode("ascii")


def public_jwk(
    key, kid: str | None = None, use: str = "sig", cert_pem: str | None = None
) -> dict:
    """The public JWK of a key (private members never included).

    ``kid`` defaults to the RFC 7638 thumbprint.  With ``cert_pem`` the JWK gets
    ``x5c`` (base64 DER, not base64url) after checking the certificate holds
    the same public key.
    """
    alg = algorithm_for_key(key)
    jwk = jose_key(_public(key), alg).to_dict()
    jwk["alg"] = alg
    jwk["use"] = use
    jwk["kid"] = kid or jwk_thumbprint(jwk)
    if cert_pem:
        try:
            cert = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
        except ValueError as exc:
            raise KeyMaterialError(
                "the certificate is not valid PEM: %s" % exc
            ) from exc
        if _spki(cert.public_key()) != _spki(key):
            raise KeyMaterialError("the certificate does not certify this key")
        der = cert.public_bytes(serialization.Encoding.DER)
        jwk["x5c"] = [base64.b64encode(der).decode("ascii")]
    return jwk


def _san_entry(name: str):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def self_signed_certificate(key, common_name: str, days: int = 3650) -> str:
    """A self-signed X.509 certificate (PEM) with CN and SAN = ``common_name``."""
    if not common_name:
        raise KeyMaterialError("a certificate needs a common name (the server host)")
    if not isinstance(key, _PRIVATE_TYPES):
        raise KeyMaterialError("a self-signed certificate needs the private key")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([_san_entry(common_name)]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(key, digest)
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
