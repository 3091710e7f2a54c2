"""JWT and CWT signing, checked with code independent of the signer.

The code signs with python-jose (JWS) and pycose (COSE_Sign1).  JWTs are
verified here with joserfc, a different JOSE implementation; CWTs are taken
apart with base45 + zlib + cbor2 and their Sig_structure, written out from
RFC 9052 section 4.4, is verified with ``cryptography`` directly.
"""

import base64
import json
import warnings
import zlib

import base45
import cbor2
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from g2p_payment_files.vouchers import keys, payloads, tokens
from g2p_payment_files.vouchers.errors import KeyMaterialError

joserfc_jwt = pytest.importorskip("joserfc.jwt", reason="test requirement: joserfc")
from joserfc.errors import BadSignatureError  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402

ALGS = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}
COSE_ALGS = {"RS256": -257, "ES256": -7, "EdDSA": -8}
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
CLAIMS = {
    "iss": "https://g2p.example.org",
    "sub": "REG-000042",
    "iat": 1_700_000_000,
    "exp": 1_900_000_000,
    "amount": "150.00",
    "currency": "KES",
    "name": "Zoë Wanjirũ",
}


@pytest.fixture(scope="module")
def key_by_type():
    return {kty: keys.generate_private_key(kty) for kty in ALGS}


def _b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _joserfc_decode(token, jwk):
    with warnings.catch_warnings():
        # joserfc flags "EdDSA" as deprecated by RFC 9864; still valid here.
        warnings.simplefilter("ignore")
        return joserfc_jwt.decode(
            token, KeySet.import_key_set({"keys": [jwk]}), algorithms=list(COSE_ALGS)
        )


@pytest.mark.parametrize("kty", list(ALGS))
def test_jwt_round_trip_verified_by_joserfc(key_by_type, kty):
    key = key_by_type[kty]
    token = tokens.sign_jwt(CLAIMS, key, "kid-%s" % kty)
    decoded = _joserfc_decode(token, keys.public_jwk(key, kid="kid-%s" % kty))
    assert decoded.header == {"alg": ALGS[kty], "kid": "kid-%s" % kty, "typ": "JWT"}
    assert decoded.claims == CLAIMS


@pytest.mark.parametrize("kty", list(ALGS))
def test_jwt_with_tampered_claims_fails_independent_check(key_by_type, kty):
    key = key_by_type[kty]
    head, body, sig = tokens.sign_jwt(CLAIMS, key, "k").split(".")
    forged = dict(CLAIMS, amount="99999.00")
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        _joserfc_decode("%s.%s.%s" % (head, body, sig), keys.public_jwk(key, kid="k"))


def test_es256_jwt_signature_is_raw_r_s(key_by_type):
    token = tokens.sign_jwt(CLAIMS, key_by_type["EC"], "k")
    assert len(_b64url(token.split(".")[2])) == 64


def test_signing_requires_kid(key_by_type):
    with pytest.raises(KeyMaterialError, match="kid"):
        tokens.sign_jwt(CLAIMS, key_by_type["EC"], "")
    with pytest.raises(KeyMaterialError, match="kid"):
        tokens.sign_cwt(CLAIMS, key_by_type["EC"], None)


def _verify_cose_independently(public_key, alg, protected, payload, signature):
    # RFC 9052 section 4.4: Sig_structure = ["Signature1", body_protected,
    # external_aad (empty here), payload]; RFC 9053 2.1: ECDSA as r || s.
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    if alg == "RS256":
        assert isinstance(public_key, rsa.RSAPublicKey)
        public_key.verify(signature, sig_structure, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        public_key.verify(der, sig_structure, ec.ECDSA(hashes.SHA256()))
    else:
        public_key.verify(signature, sig_structure)


@pytest.mark.parametrize("kty", list(ALGS))
def test_cwt_structure_and_signature_checked_by_hand(key_by_type, kty):
    key = key_by_type[kty]
    alg = ALGS[kty]
    text = tokens.sign_cwt(dict(CLAIMS, cti="v-1"), key, "kid-%s" % kty, prefix="G2P:")
    assert text.startswith("G2P:")
    raw = zlib.decompress(base45.b45decode(text[len("G2P:") :]))
    outer = cbor2.loads(raw)
    assert outer.tag == 61  # CWT tag (RFC 8392 section 6)
    assert outer.value.tag == 18  # COSE_Sign1 tag
    protected, unprotected, payload, signature = outer.value.value
    assert cbor2.loads(protected) == {1: COSE_ALGS[alg], 4: b"kid-%s" % kty.encode()}
    assert dict(unprotected) == {}
    claims = cbor2.loads(payload)
    assert claims[1] == CLAIMS["iss"]
    assert claims[2] == CLAIMS["sub"]
    assert claims[4] == CLAIMS["exp"]
    assert claims[6] == CLAIMS["iat"]
    assert claims[7] == b"v-1"
    assert claims["amount"] == "150.00"
    assert claims["name"] == "Zoë Wanjirũ"
    assert "iss" not in claims
    _verify_cose_independently(key.public_key(), alg, protected, payload, signature)


def test_cwt_signature_does_not_cover_other_payload(key_by_type):
    key = key_by_type["EC"]
    text = tokens.sign_cwt(CLAIMS, key, "k")
    protected, _unprot, _payload, signature = cbor2.loads(
        zlib.decompress(base45.b45decode(text))
    ).value.value
    forged = cbor2.dumps({1: CLAIMS["iss"], "amount": "99999.00"})
    with pytest.raises(InvalidSignature):
        _verify_cose_independently(
            key.public_key(), "ES256", protected, forged, signature
        )


def test_cwt_payload_uses_qr_alphanumeric_alphabet(key_by_type):
    text = tokens.sign_cwt(CLAIMS, key_by_type["OKP"], "k")
    assert set(text) <= QR_ALPHANUMERIC


def test_signer_builds_its_jose_key_once(monkeypatch):
    signer = payloads.Signer(keys.generate_private_key("RSA"), "kid-rsa")
    built = []
    real = tokens.SigningKey.__init__

    def counting(self, *args, **kwargs):
        built.append(args)
        real(self, *args, **kwargs)

    monkeypatch.setattr(tokens.SigningKey, "__init__", counting)
    for number in range(5):
        signer.jwt(dict(CLAIMS, n=number))
        signer.cwt(dict(CLAIMS, n=number), "G2P:")
    assert built == []
    assert signer.signing_key.jose_key is signer.signing_key.jose_key


def test_rs256_jwt_is_deterministic_and_header_is_sorted(key_by_type):
    key = key_by_type["RSA"]
    token = tokens.sign_jwt(CLAIMS, key, "k")
    assert token == tokens.sign_jwt(CLAIMS, tokens.SigningKey(key), "k")
    assert _b64url(token.split(".")[0]) == b'{"alg":"RS256","kid":"k","typ":"JWT"}'
    # UTF-8 claims, not \u escapes: the payload is our compact JSON.
    assert "Zoë Wanjirũ".encode() in _b64url(token.split(".")[1])


def test_unsupported_key_is_a_key_material_error():
    ec384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(KeyMaterialError, match="P-256"):
        tokens.sign_jwt(CLAIMS, ec384, "k")


def _qr_data_bits(text):
    """Bits a QR symbol spends on the text: 5.5/char alphanumeric, else 8/char."""
    if set(text) <= QR_ALPHANUMERIC:
        return 11 * (len(text) // 2) + 6 * (len(text) % 2)
    return 8 * len(text.encode("utf-8"))


def test_es256_and_cwt_payloads_are_smaller_than_rs256(key_by_type):
    kid = "0b7c3c5e-3d1f-4a57-9a8e-6b7f1f0f4c21"  # uuid-style kid as upstream
    rs256 = tokens.sign_jwt(CLAIMS, key_by_type["RSA"], kid)
    es256 = tokens.sign_jwt(CLAIMS, key_by_type["EC"], kid)
    cwt = tokens.sign_cwt(CLAIMS, key_by_type["EC"], kid)
    assert len(cwt) < len(es256) <= 0.7 * len(rs256)
    # base45 is QR alphanumeric: the CWT needs at most half the QR data bits.
    assert _qr_data_bits(cwt) <= _qr_data_bits(rs256) / 2
