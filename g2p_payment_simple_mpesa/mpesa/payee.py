"""Validation of amounts and payee identifiers before anything is sent."""

import math
import re
from decimal import Decimal, InvalidOperation

from .const import (
    CUSTOMER_TYPES,
    MIN_DEPOSIT,
    PAYEE_EMAIL,
    PAYEE_ID_TYPES,
    PAYEE_PHONE,
)
from .errors import AmountError, ConfigError, PayeeError

_PHONE_NOISE = re.compile(r"[\s\-().]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ACCOUNT_LENGTH = 100


def whole_amount(amount, minimum=MIN_DEPOSIT):
    """Return ``amount`` as an int of whole shillings.

    The gateway only takes whole shillings; a fraction is an error rather than
    being truncated silently (10.0 is fine, 10.5 is not).
    """
    if amount is None or isinstance(amount, bool):
        raise AmountError("The payment has no amount.")
    try:
        value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise AmountError(f"Amount {amount!r} is not a number.") from None
    if isinstance(amount, float) and not math.isfinite(amount) or not value.is_finite():
        raise AmountError(f"Amount {amount!r} is not a number.")
    if value != value.to_integral_value():
        raise AmountError(
            f"Amount {amount} has a fraction of a shilling; Mpesa only pays whole "
            f"shillings. Round the entitlement to a whole amount."
        )
    whole = int(value)
    if minimum is not None and whole < minimum:
        raise AmountError(
            f"Amount {whole} is below the Mpesa minimum deposit of {minimum}."
        )
    return whole


def normalise_phone(raw, country_code="254"):
    """Return an MSISDN without '+' (e.g. ``254712345678``).

    Kenya (254): accepts 07XXXXXXXX, 01XXXXXXXX, 7XXXXXXXX, 1XXXXXXXX,
    +2547XXXXXXXX, 2547XXXXXXXX, 002547XXXXXXXX.  Other country codes: the
    national number with a trunk 0, or the international form, 8-15 digits.
    """
    if not raw or not str(raw).strip():
        raise PayeeError("The payee has no phone number.")
    text = _PHONE_NOISE.sub("", str(raw).strip())
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    else:
        digits = text
    if not digits.isdigit():
        raise PayeeError(f"Phone number {raw!r} contains characters other than digits.")
    cc = str(country_code).lstrip("+")
    if cc == "254":
        if digits.startswith("254"):
            national = digits[3:]
        elif digits.startswith("0"):
            national = digits[1:]
        else:
            national = digits
        if len(national) == 9 and national[0] in "17":
            return "254" + national
        raise PayeeError(
            f"Phone number {raw!r} is not a Kenyan mobile number; expected "
            f"07XXXXXXXX, 01XXXXXXXX or +2547XXXXXXXX."
        )
    if not text.startswith(("+", "00")):
        digits = cc + digits[1:] if digits.startswith("0") else digits
        if not digits.startswith(cc):
            digits = cc + digits
    if not 8 <= len(digits) <= 15 or not digits.startswith(cc):
        raise PayeeError(
            f"Phone number {raw!r} is not a valid mobile number for country code +{cc}."
        )
    return digits


def validate_email(raw):
    """Return the e-mail address (trimmed, domain lower-cased)."""
    if not raw or not str(raw).strip():
        raise PayeeError("The payee has no e-mail address.")
    text = str(raw).strip()
    if not _EMAIL.match(text):
        raise PayeeError(
            f"E-mail address {raw!r} is not valid (expected name@domain.tld)."
        )
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def clean_account(raw):
    """Return an account number or id without surrounding/inner whitespace."""
    if raw is None or not str(raw).strip():
        raise PayeeError("The payee has no account number.")
    text = "".join(str(raw).split())
    if _CONTROL.search(text):
        raise PayeeError(f"Account number {raw!r} contains control characters.")
    if len(text) > MAX_ACCOUNT_LENGTH:
        raise PayeeError(
            f"Account number {text[:20]}... is longer than "
            f"{MAX_ACCOUNT_LENGTH} characters."
        )
    return text


def validate_customer_type(raw):
    """Return the customer type expected by the gateway."""
    value = (raw or "").strip().lower()
    if value not in CUSTOMER_TYPES:
        raise ConfigError(
            f"Customer type {raw!r} is not one of {', '.join(CUSTOMER_TYPES)}."
        )
    return value


def account_for(payee_id_type, raw, country_code="254"):
    """Clean ``raw`` according to the payee id kind configured on the manager."""
    if payee_id_type == PAYEE_PHONE:
        return normalise_phone(raw, country_code)
    if payee_id_type == PAYEE_EMAIL:
        return validate_email(raw)
    if payee_id_type in PAYEE_ID_TYPES:
        return clean_account(raw)
    raise ConfigError(
        f"Payee id type {payee_id_type!r} is not one of {', '.join(PAYEE_ID_TYPES)}."
    )
