"""build_payload: the four data types and their error messages."""

import datetime
import json

import pytest

from g2p_payment_files.vouchers import keys, payloads, verify
from g2p_payment_files.vouchers.errors import (
    KeyMaterialError,
    PayloadError,
    VoucherError,
)

NOW = 1_800_000_000
TEMPLATE = '{\n  "payment": "PAY/0001",\n  "amount": "12.50",\n  "name": "Zoë"\n}'


@pytest.fixture(scope="module")
def signer():
    return payloads.Signer(keys.generate_private_key("EC"), "kid-ec")


@pytest.fixture(scope="module")
def jwks(signer):
    return {"keys": [keys.public_jwk(signer.key, kid=signer.kid)]}


def test_string_is_returned_as_is():
    assert payloads.build_payload("string", "  PAY/0001 x ") == "  PAY/0001 x "


def test_json_is_validated_and_compacted():
    out = payloads.build_payload("json", TEMPLATE)
    assert out == '{"payment":"PAY/0001","amount":"12.50","name":"Zoë"}'


def test_invalid_json_names_line_and_column():
    broken = '{\n  "payment": "PAY/0001",\n  "amount": 12.50,,\n}'
    with pytest.raises(PayloadError, match=r"line 3, column 19"):
        payloads.build_payload("json", broken)


@pytest.mark.parametrize("data_type", ["json", "jwt", "cwt"])
@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null"])
def test_non_object_json_is_refused(signer, data_type, body):
    with pytest.raises(PayloadError, match="must be a JSON object"):
        payloads.build_payload(data_type, body, signer=signer)


def test_nan_is_not_json():
    with pytest.raises(PayloadError, match="NaN is not valid JSON"):
        payloads.build_payload("json", '{"a": NaN}')


@pytest.mark.parametrize("data_type", ["jwt", "cwt"])
def test_signed_types_need_a_signer(data_type):
    with pytest.raises(PayloadError, match="needs a signing key"):
        payloads.build_payload(data_type, TEMPLATE)


def test_unknown_type_and_empty_payload_are_refused():
    with pytest.raises(PayloadError, match="unknown data type 'xml'"):
        payloads.build_payload("xml", "<a/>")
    with pytest.raises(PayloadError, match="empty"):
        payloads.build_payload("string", "   ")
    with pytest.raises(PayloadError, match="must be text"):
        payloads.build_payload("string", b"bytes")
    assert issubclass(PayloadError, VoucherError)


def test_jwt_gets_issuer_issued_at_and_expiry(signer, jwks):
    token = payloads.build_payload(
        "jwt",
        TEMPLATE,
        signer=signer,
        issuer="https://g2p.example",
        validity_seconds=3600,
        now=NOW,
    )
    claims = verify.verify_payload(token, jwks, now=NOW + 10)
    assert claims == {
        "payment": "PAY/0001",
        "amount": "12.50",
        "name": "Zoë",
        "iss": "https://g2p.example",
        "iat": NOW,
        "exp": NOW + 3600,
    }


def test_cwt_carries_the_same_claims_as_jwt(signer, jwks):
    kwargs = {"signer": signer, "issuer": "https://g2p.example", "validity_seconds": 60}
    jwt = payloads.build_payload("jwt", TEMPLATE, now=NOW, **kwargs)
    cwt = payloads.build_payload("cwt", TEMPLATE, now=NOW, cwt_prefix="G2P:", **kwargs)
    assert cwt.startswith("G2P:")
    from_jwt = verify.verify_payload(jwt, jwks, now=NOW)
    from_cwt = verify.verify_payload(cwt, jwks, now=NOW, cwt_prefix="G2P:")
    assert from_cwt == from_jwt
    assert verify.decode_cwt(cwt, "G2P:")["raw_claims"][4] == NOW + 60


def test_no_validity_means_no_exp_and_system_claims_override_template(signer, jwks):
    template = '{"iss": "forged", "iat": 1, "payment": "P1"}'
    token = payloads.build_payload(
        "jwt", template, signer=signer, issuer="https://real", now=NOW
    )
    claims = verify.verify_payload(token, jwks, now=NOW)
    assert claims == {"iss": "https://real", "iat": NOW, "payment": "P1"}


def test_naive_datetime_now_is_utc(signer, jwks):
    now = datetime.datetime(2027, 1, 15, 8, 0, 0)  # Odoo-style naive UTC
    token = payloads.build_payload("jwt", "{}", signer=signer, now=now)
    claims = verify.verify_payload(token, jwks, now=NOW)
    expected = datetime.datetime(2027, 1, 15, 8, tzinfo=datetime.timezone.utc)
    assert claims["iat"] == int(expected.timestamp())


def test_signer_from_encrypted_pem(jwks, signer):
    pem = keys.private_key_to_pem(signer.key, passphrase="pw")
    again = payloads.Signer.from_pem(pem, "kid-ec", passphrase="pw")
    assert again.alg == "ES256"
    token = payloads.build_payload("jwt", "{}", signer=again, now=NOW)
    assert verify.verify_payload(token, jwks, now=NOW)["iat"] == NOW


def test_signer_needs_kid(signer):
    with pytest.raises(KeyMaterialError, match="kid"):
        payloads.Signer(signer.key, "")


def test_extra_claims_are_merged_and_the_template_wins():
    merged = payloads.merge_claims(
        '{"amount": 5, "status": "mine"}', {"status": "x", "idx": 3}
    )
    assert json.loads(merged) == {"amount": 5, "status": "mine", "idx": 3}
    assert payloads.merge_claims("{bad", {"a": 1}) == "{bad"
    assert payloads.merge_claims('{"a": 1}', None) == '{"a": 1}'
