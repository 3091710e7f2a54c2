"""Keys, PEM, JWK and certificates of the voucher signer (no Odoo)."""

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from g2p_payment_files.vouchers import keys
from g2p_payment_files.vouchers.errors import KeyMaterialError, VoucherError

# RFC 7638 section 3.1: the example RSA key and its thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
        "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5"
        "v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbIS"
        "D08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-k"
        "EgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(scope="module")
def key_by_type():
    return {kty: keys.generate_private_key(kty) for kty in ("RSA", "EC", "OKP")}


def test_rfc7638_example_thumbprint_matches():
    assert keys.jwk_thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT


def test_thumbprint_ignores_optional_members():
    bare = {name: RFC7638_JWK[name] for name in ("kty", "n", "e")}
    extra = dict(RFC7638_JWK, use="sig", x5c=["AAAA"])
    assert keys.jwk_thumbprint(bare) == keys.jwk_thumbprint(extra) == RFC7638_THUMBPRINT


def test_thumbprint_of_incomplete_jwk_names_missing_member():
    with pytest.raises(KeyMaterialError, match="lacks member.*n"):
        keys.jwk_thumbprint({"kty": "RSA", "e": "AQAB"})


@pytest.mark.parametrize(
    ("kty", "alg"), [("RSA", "RS256"), ("EC", "ES256"), ("OKP", "EdDSA")]
)
def test_generated_keys_sign_with_expected_algorithm(key_by_type, kty, alg):
    assert keys.algorithm_for_key(key_by_type[kty]) == alg
    assert keys.algorithm_for_key(key_by_type[kty].public_key()) == alg


@pytest.mark.parametrize("size", [2048, 3072])
def test_rsa_sizes_are_honoured(size):
    assert keys.generate_private_key("RSA", size).key_size == size


def test_bad_key_type_or_size_is_refused_clearly():
    with pytest.raises(KeyMaterialError, match="RSA key size 1024 is not supported"):
        keys.generate_private_key("RSA", 1024)
    with pytest.raises(KeyMaterialError, match="unknown key type 'DSA'"):
        keys.generate_private_key("DSA")
    with pytest.raises(KeyMaterialError, match="only applies to RSA"):
        keys.generate_private_key("EC", 256)


@pytest.mark.parametrize("kty", ["RSA", "EC", "OKP"])
def test_encrypted_pem_round_trip(key_by_type, kty):
    key = key_by_type[kty]
    pem = keys.private_key_to_pem(key, passphrase="s3cret pass")
    assert "ENCRYPTED PRIVATE KEY" in pem
    loaded = keys.load_private_key(pem, passphrase="s3cret pass")
    assert keys.public_jwk(loaded) == keys.public_jwk(key)


def test_clear_pem_is_pkcs8(key_by_type):
    pem = keys.private_key_to_pem(key_by_type["EC"])
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert keys.public_jwk(keys.load_private_key(pem)) == keys.public_jwk(
        key_by_type["EC"]
    )


def test_wrong_passphrase_gives_clear_message(key_by_type):
    pem = keys.private_key_to_pem(key_by_type["EC"], passphrase="right")
    with pytest.raises(KeyMaterialError, match="^wrong passphrase"):
        keys.load_private_key(pem, passphrase="wrong")


def test_missing_or_superfluous_passphrase_is_explained(key_by_type):
    encrypted = keys.private_key_to_pem(key_by_type["OKP"], passphrase="right")
    with pytest.raises(KeyMaterialError, match="encrypted: a passphrase is required"):
        keys.load_private_key(encrypted)
    clear = keys.private_key_to_pem(key_by_type["OKP"])
    with pytest.raises(KeyMaterialError, match="not encrypted"):
        keys.load_private_key(clear, passphrase="whatever")


def test_garbage_pem_is_refused():
    with pytest.raises(KeyMaterialError, match="no PEM private key"):
        keys.load_private_key("hello")
    bad = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    with pytest.raises(KeyMaterialError, match="not a valid PEM key"):
        keys.load_private_key(bad)
    assert issubclass(KeyMaterialError, VoucherError)
    assert issubclass(KeyMaterialError, ValueError)


def test_loaded_keys_are_cached(key_by_type):
    pem = keys.private_key_to_pem(key_by_type["RSA"])
    assert keys.load_private_key(pem) is keys.load_private_key(pem)


@pytest.mark.parametrize("kty", ["RSA", "EC", "OKP"])
def test_public_jwk_has_no_private_members(key_by_type, kty):
    jwk = keys.public_jwk(key_by_type[kty], kid="kid-1")
    assert not PRIVATE_MEMBERS & set(jwk)
    assert jwk["kty"] == kty
    assert jwk["kid"] == "kid-1"
    assert jwk["use"] == "sig"
    assert jwk["alg"] == keys.algorithm_for_key(key_by_type[kty])


def test_default_kid_is_thumbprint(key_by_type):
    jwk = keys.public_jwk(key_by_type["EC"])
    assert jwk["kid"] == keys.jwk_thumbprint(jwk)
    assert len(jwk["kid"]) == 43


def test_ec_coordinates_are_fixed_length(key_by_type):
    jwk = keys.public_jwk(key_by_type["EC"])
    assert jwk["crv"] == "P-256"
    for name in ("x", "y"):
        raw = base64.urlsafe_b64decode(jwk[name] + "=" * (-len(jwk[name]) % 4))
        assert len(raw) == 32


@pytest.mark.parametrize("kty", ["RSA", "EC", "OKP"])
def test_self_signed_certificate_and_x5c(key_by_type, kty):
    key = key_by_type[kty]
    cert_pem = keys.self_signed_certificate(key, "g2p.example.org", days=30)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "g2p.example.org"
    assert cert.issuer == cert.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["g2p.example.org"]
    validity = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 30 <= validity.days <= 31
    jwk = keys.public_jwk(key, kid="k", cert_pem=cert_pem)
    der = base64.b64decode(jwk["x5c"][0])
    assert der == cert.public_bytes(serialization.Encoding.DER)


def test_ip_address_common_name_goes_to_ip_san(key_by_type):
    cert_pem = keys.self_signed_certificate(key_by_type["EC"], "10.0.0.7")
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]


def test_certificate_of_another_key_is_refused(key_by_type):
    other_cert = keys.self_signed_certificate(key_by_type["OKP"], "x.example")
    with pytest.raises(KeyMaterialError, match="does not certify this key"):
        keys.public_jwk(key_by_type["EC"], cert_pem=other_cert)
