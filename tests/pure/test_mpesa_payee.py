"""Amount and payee validation (no network)."""

from decimal import Decimal

import pytest

from g2p_payment_simple_mpesa.mpesa import payee
from g2p_payment_simple_mpesa.mpesa.errors import AmountError, ConfigError, PayeeError


@pytest.mark.parametrize(
    "amount, expected",
    [(10, 10), (10.0, 10), ("250", 250), (Decimal("1000.00"), 1000), (1234.0, 1234)],
)
def test_whole_amount_accepts_whole_shillings(amount, expected):
    assert payee.whole_amount(amount) == expected
    assert isinstance(payee.whole_amount(amount), int)


@pytest.mark.parametrize("amount", [10.5, "10.01", Decimal("99.99"), 0.1 + 10])
def test_whole_amount_refuses_fractions_instead_of_truncating(amount):
    with pytest.raises(AmountError, match="whole"):
        payee.whole_amount(amount)


@pytest.mark.parametrize("amount", [9, 0, -50, 9.0])
def test_whole_amount_refuses_below_minimum(amount):
    with pytest.raises(AmountError, match="minimum deposit of 10"):
        payee.whole_amount(amount)


@pytest.mark.parametrize("amount", [None, True, "ten", float("nan"), float("inf"), []])
def test_whole_amount_refuses_non_numbers(amount):
    with pytest.raises(AmountError):
        payee.whole_amount(amount)


def test_whole_amount_custom_minimum_and_value_error_compat():
    assert payee.whole_amount(1, minimum=1) == 1
    assert payee.whole_amount(0, minimum=None) == 0
    with pytest.raises(ValueError):  # AmountError is a ValueError for callers
        payee.whole_amount(5)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0712345678", "254712345678"),
        ("0712 345 678", "254712345678"),
        ("712345678", "254712345678"),
        ("+254712345678", "254712345678"),
        ("254712345678", "254712345678"),
        ("00254712345678", "254712345678"),
        ("+254 (712) 345-678", "254712345678"),
        ("0110345678", "254110345678"),
        ("110345678", "254110345678"),
    ],
)
def test_normalise_phone_kenyan_forms(raw, expected):
    assert payee.normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        None,
        "   ",
        "071234567",
        "07123456789",
        "0812345678",
        "+255712345678",
        "07l2345678",
        "phone: 0712345678",
    ],
)
def test_normalise_phone_rejects_with_clear_message(raw):
    with pytest.raises(PayeeError) as info:
        payee.normalise_phone(raw)
    message = str(info.value)
    assert "phone" in message.lower()


def test_normalise_phone_other_country_code():
    assert payee.normalise_phone("0712345678", country_code="255") == "255712345678"
    assert payee.normalise_phone("+255712345678", country_code="255") == "255712345678"
    with pytest.raises(PayeeError, match=r"\+255"):
        payee.normalise_phone("+254712345678", country_code="255")


def test_validate_email():
    assert payee.validate_email("  Jane.Doe@Example.ORG ") == "Jane.Doe@example.org"
    for bad in ("", None, "jane", "jane@", "@example.org", "jane@example", "a b@c.de"):
        with pytest.raises(PayeeError, match="[Ee]-mail"):
            payee.validate_email(bad)


def test_clean_account():
    assert (
        payee.clean_account(" DE89 3704 0044 0532 0130 00 ") == "DE89370400440532013000"
    )
    assert payee.clean_account(12345) == "12345"
    with pytest.raises(PayeeError, match="no account number"):
        payee.clean_account("   ")
    with pytest.raises(PayeeError, match="control"):
        payee.clean_account("12\x0034")
    with pytest.raises(PayeeError, match="longer than"):
        payee.clean_account("9" * 101)


def test_customer_type_and_account_for():
    assert payee.validate_customer_type(" Subscriber ") == "subscriber"
    with pytest.raises(ConfigError, match="agent, subscriber, merchant"):
        payee.validate_customer_type("shop")
    assert payee.account_for("phone", "0712345678") == "254712345678"
    assert payee.account_for("email", "a@b.co") == "a@b.co"
    assert payee.account_for("reg_id", " ID 42 ") == "ID42"
    with pytest.raises(ConfigError):
        payee.account_for("iban", "x")
