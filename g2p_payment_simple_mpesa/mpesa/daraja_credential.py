"""Daraja SecurityCredential: the initiator password encrypted for M-Pesa.

RSA PKCS#1 v1.5 with the public key of the M-Pesa certificate (Safaricom's
sandbox or production ``.cer``), base64-encoded.  PKCS#1 v1.5 is random-padded:
two credentials of one password differ, and both are valid.
"""

import base64
import binascii

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import ConfigError

PEM_MARKER = b"-----BEGIN"


def _as_bytes(certificate):
    if isinstance(certificate, str):
        certificate = certificate.encode("ascii", "replace")
    data = bytes(certificate or b"")
    # Whitespace around PEM text is noise; DER is binary and may end with a
    # byte that reads as whitespace (about 1 certificate in 40).
    return data.strip() if PEM_MARKER in data or not data.strip() else data


def load_certificate(certificate):
    """An X.509 certificate from PEM or DER bytes/text (ConfigError otherwise)."""
    data = _as_bytes(certificate)
    if not data:
        raise ConfigError(
            "No M-Pesa certificate: upload the M-Pesa public certificate (.cer, PEM or "
            "DER) from the Daraja portal."
        )
    try:
        if PEM_MARKER in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError(
            f"The M-Pesa certificate is not a PEM or DER X.509 certificate ({exc}); "
            f"upload the .cer file from the Daraja portal, not a key or a CSR."
        ) from None


def rsa_public_key(certificate):
    cert = load_certificate(certificate)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(
            "The M-Pesa certificate does not hold an RSA key; upload the M-Pesa "
            "public certificate from the Daraja portal."
        )
    return key


def security_credential(password, certificate):
    """Base64 SecurityCredential of ``password`` for ``certificate``."""
    if not password:
        raise ConfigError("Set the initiator password.")
    key = rsa_public_key(certificate)
    secret = password.encode("utf-8")
    # PKCS#1 v1.5 carries at most key size - 11 bytes.
    if len(secret) > key.key_size // 8 - 11:
        raise ConfigError("The initiator password is too long for the certificate.")
    return base64.b64encode(key.encrypt(secret, padding.PKCS1v15())).decode("ascii")


def decode_upload(value):
    """Bytes of a certificate stored base64-encoded (an Odoo Binary field)."""
    if not value:
        return b""
    if isinstance(value, str):
        value = value.encode("ascii", "replace")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            "The stored M-Pesa certificate is not valid base64; upload it again."
        ) from None


def describe(certificate):
    """Subject and expiry of a certificate, for the manager form."""
    cert = load_certificate(certificate)
    until = cert.not_valid_after_utc.strftime("%Y-%m-%d")
    return f"{cert.subject.rfc4514_string()} (valid until {until})"
