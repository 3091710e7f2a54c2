"""Reading back the claims of a signed code (for the dates a voucher prints)."""

import datetime

import pytest

from g2p_payment_files.vouchers import claims, keys, payloads
from g2p_payment_files.vouchers.errors import PayloadError

NOW = datetime.datetime(2026, 3, 1, 8, 30, 0)
CLAIMS = '{"payment": "PAY-1", "beneficiary": "Zoë", "amount": 1500.0}'


@pytest.fixture(scope="module")
def signer():
    return payloads.Signer(keys.generate_private_key("EC"), "kid-claims")


def _signed(data_type, signer, validity=None, prefix=""):
    return payloads.build_payload(
        data_type,
        CLAIMS,
        signer=signer,
        issuer="https://vouchers.example.org",
        validity_seconds=validity,
        now=NOW,
        cwt_prefix=prefix,
    )


@pytest.mark.parametrize("data_type, prefix", [("jwt", ""), ("cwt", "G2P:")])
def test_signed_claims_and_dates_read_back_as_they_were_signed(
    signer, data_type, prefix
):
    payload = _signed(data_type, signer, validity=90 * 86400, prefix=prefix)
    read = claims.read_claims(data_type, payload, prefix)
    assert read["payment"] == "PAY-1"
    assert read["beneficiary"] == "Zoë"
    assert read["iss"] == "https://vouchers.example.org"
    assert claims.claim_datetime(read, "iat") == NOW
    assert claims.claim_datetime(read, "exp") == NOW + datetime.timedelta(days=90)


def test_a_code_without_validity_has_no_expiry(signer):
    read = claims.read_claims("jwt", _signed("jwt", signer))
    assert claims.claim_datetime(read, "iat") == NOW
    assert claims.claim_datetime(read, "exp") is None


def test_unsigned_codes_have_no_claims():
    assert claims.read_claims("string", "PAY-1") == {}
    assert claims.read_claims("json", '{"iat": 1}') == {}


@pytest.mark.parametrize(
    "data_type, payload",
    [
        ("jwt", "not-a-jwt"),
        ("jwt", "a.!!!.c"),
        ("jwt", "eyJhIjoxfQ.WzFd.c"),  # payload [1]: not an object
        ("cwt", "G2P:not base45 %%%"),
        ("cwt", "G2P:"),
    ],
)
def test_undecodable_payloads_are_payload_errors(data_type, payload):
    with pytest.raises(PayloadError):
        claims.read_claims(data_type, payload, "G2P:")


@pytest.mark.parametrize("value", [None, "1700000000", True])
def test_only_numeric_dates_are_dates(value):
    assert claims.claim_datetime({"exp": value}, "exp") is None
