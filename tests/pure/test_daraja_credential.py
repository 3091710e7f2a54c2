"""SecurityCredential: encrypted with the certificate, decrypted back with the key."""

import base64
import datetime
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import NameOID
from g2p_simulators.daraja import make_certificate

from g2p_payment_simple_mpesa.mpesa.daraja_credential import (
    decode_upload,
    describe,
    load_certificate,
    security_credential,
)
from g2p_payment_simple_mpesa.mpesa.errors import ConfigError

PASSWORD = "Initiator-Pa55!"


@pytest.fixture(scope="module")
def keypair():
    return make_certificate("M-Pesa test")


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def test_credential_decrypts_back_to_the_password_with_the_private_key(keypair):
    key, cert = keypair
    credential = security_credential(PASSWORD, pem(cert))
    raw = base64.b64decode(credential, validate=True)
    assert len(raw) == key.key_size // 8
    assert key.decrypt(raw, padding.PKCS1v15()).decode() == PASSWORD


def test_der_certificate_and_str_pem_are_accepted(keypair):
    key, cert = keypair
    der = cert.public_bytes(serialization.Encoding.DER)
    for form in (der, pem(cert).decode()):
        raw = base64.b64decode(security_credential(PASSWORD, form))
        assert key.decrypt(raw, padding.PKCS1v15()).decode() == PASSWORD


def test_der_certificate_ending_in_a_whitespace_byte_is_read_whole(keypair):
    key, cert = keypair
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "M-Pesa test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    for serial in range(1, 5000):
        der = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
        if der[-1:].isspace():
            break
    else:
        pytest.fail("no certificate ending in a whitespace byte was made")
    raw = base64.b64decode(security_credential(PASSWORD, der))
    assert key.decrypt(raw, padding.PKCS1v15()).decode() == PASSWORD


def test_credentials_differ_per_call_pkcs1_v15_random_padding(keypair):
    _key, cert = keypair
    assert security_credential(PASSWORD, pem(cert)) != security_credential(
        PASSWORD, pem(cert)
    )


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
def test_openssl_pkeyutl_decrypts_the_credential(keypair, tmp_path):
    key, cert = keypair
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    blob = tmp_path / "credential.bin"
    blob.write_bytes(base64.b64decode(security_credential(PASSWORD, pem(cert))))
    out = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-decrypt",
            "-inkey",
            str(key_file),
            "-pkeyopt",
            "rsa_padding_mode:pkcs1",
            "-in",
            str(blob),
        ],
        capture_output=True,
        check=True,
    )
    assert out.stdout.decode() == PASSWORD


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    ],
)
def test_not_a_certificate_is_a_config_error_that_says_what_to_upload(garbage):
    with pytest.raises(ConfigError, match=r"certificate"):
        security_credential(PASSWORD, garbage)


def test_a_private_key_is_refused_as_certificate(keypair):
    key, _cert = keypair
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ConfigError, match="not a PEM or DER X.509 certificate"):
        load_certificate(key_pem)


def test_a_non_rsa_certificate_is_refused():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(ConfigError, match="RSA"):
        security_credential(PASSWORD, pem(cert))


def test_empty_password_is_refused(keypair):
    with pytest.raises(ConfigError, match="initiator password"):
        security_credential("", pem(keypair[1]))


def test_binary_field_upload_is_decoded_and_described(keypair):
    stored = base64.b64encode(pem(keypair[1]))
    assert decode_upload(stored) == pem(keypair[1])
    assert "M-Pesa test" in describe(decode_upload(stored))
    with pytest.raises(ConfigError, match="base64"):
        decode_upload("%%%")
