"""Reading a Daraja Result or QueueTimeOut callback body (no HTTP, no Odoo).

``parse_callback`` validates what a remote system POSTed and says what it
means for the payment: paid (with the receipt), failed (with the reason), or
unknown (a QueueTimeOut: the request timed out in Daraja's queue; it may still
complete, so only a Transaction Status query can settle it).
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .const import (
    DARAJA_CALLBACK_RESULT,
    DARAJA_CALLBACK_TIMEOUT,
    DARAJA_KEY_AMOUNT,
    DARAJA_KEY_COMPLETED,
    DARAJA_KEY_RECEIPT,
    DARAJA_KEY_RECEIVER,
    DARAJA_OUTCOME_FAILED,
    DARAJA_OUTCOME_PAID,
    DARAJA_OUTCOME_UNKNOWN,
    DARAJA_RESULT_FAILURES,
    DARAJA_RESULT_SUCCESS,
)
from .errors import MpesaError

MAX_ID_LENGTH = 100
_ID = re.compile(r"^[\w\-.:]+$")


class ResultError(MpesaError, ValueError):
    """A callback body that is not a valid Daraja result (answered 400)."""


class CallbackRefused(MpesaError, LookupError):
    """Unknown callback secret, or a payment that is not the manager's (404)."""


@dataclass(frozen=True)
class DarajaResult:
    kind: str  # const.DARAJA_CALLBACK_RESULT | DARAJA_CALLBACK_TIMEOUT
    outcome: str  # paid | failed | unknown
    ocid: str
    conversation_id: str | None
    result_code: str | None
    result_desc: str
    reason: str  # for a program officer
    receipt: str | None = None
    amount: Decimal | None = None
    receiver: str | None = None
    completed_at: str | None = None
    parameters: dict = field(default_factory=dict)


def _text(value, what, required=True):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ResultError(f"The callback has no {what}.")
        return None
    if not isinstance(value, str | int):
        raise ResultError(f"The callback's {what} is not a string.")
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH or not _ID.match(text):
        raise ResultError(f"The callback's {what} {text[:40]!r} is not a valid id.")
    return text


def result_code(value):
    """ResultCode as an int (Daraja sends a number or a numeric string)."""
    if isinstance(value, bool) or value is None:
        raise ResultError("The callback has no ResultCode.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ResultError(f"The callback's ResultCode {str(value)[:20]!r} is not a number.")


def parameters(result):
    """ResultParameters as a dict (a single parameter may come as an object)."""
    block = result.get("ResultParameters")
    if block in (None, "", {}):
        return {}
    if not isinstance(block, dict):
        raise ResultError("The callback's ResultParameters is not an object.")
    items = block.get("ResultParameter", [])
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise ResultError("The callback's ResultParameter is not a list.")
    out = {}
    for item in items:
        if not isinstance(item, dict) or "Key" not in item:
            raise ResultError("A ResultParameter of the callback has no Key.")
        out[str(item["Key"])] = item.get("Value")
    return out


def _amount(value):
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ResultError(
            f"The callback's {DARAJA_KEY_AMOUNT} {value!r} is not a number."
        ) from None
    if not amount.is_finite() or amount < 0:
        raise ResultError(
            f"The callback's {DARAJA_KEY_AMOUNT} {value!r} is not an amount."
        )
    return amount


def failure_reason(code, desc):
    known = DARAJA_RESULT_FAILURES.get(code)
    if known:
        return (
            f"Daraja result {code}: {known} ({desc})"
            if desc
            else f"Daraja result {code}: {known}"
        )
    return f"Daraja result {code}: {desc or 'failed'}"


def parse_callback(body, kind=DARAJA_CALLBACK_RESULT):
    """A :class:`DarajaResult` from a callback body (ResultError when invalid)."""
    if kind not in (DARAJA_CALLBACK_RESULT, DARAJA_CALLBACK_TIMEOUT):
        raise ResultError(f"Unknown callback kind {kind!r}.")
    if not isinstance(body, dict):
        raise ResultError("The callback body is not a JSON object.")
    result = body.get("Result")
    if not isinstance(result, dict):
        raise ResultError("The callback body has no Result object.")
    ocid = _text(result.get("OriginatorConversationID"), "OriginatorConversationID")
    conversation = _text(result.get("ConversationID"), "ConversationID", required=False)
    desc = result.get("ResultDesc")
    desc = str(desc).strip()[:500] if desc is not None else ""
    if kind == DARAJA_CALLBACK_TIMEOUT:
        # Only the path says "timeout"; its code is not read (it differs
        # between Daraja versions).
        raw = result.get("ResultCode")
        code = None if raw is None else str(raw).strip()[:20]
        return DarajaResult(
            kind,
            DARAJA_OUTCOME_UNKNOWN,
            ocid,
            conversation,
            code,
            desc,
            "Daraja queue timeout: the result is unknown; a Transaction Status "
            "query will settle it.",
        )
    code = result_code(result.get("ResultCode"))
    params = parameters(result)
    if code != DARAJA_RESULT_SUCCESS:
        return DarajaResult(
            kind,
            DARAJA_OUTCOME_FAILED,
            ocid,
            conversation,
            str(code),
            desc,
            failure_reason(code, desc),
            parameters=params,
        )
    receipt = params.get(DARAJA_KEY_RECEIPT) or result.get("TransactionID")
    receipt = _text(receipt, "TransactionReceipt / TransactionID")
    return DarajaResult(
        kind,
        DARAJA_OUTCOME_PAID,
        ocid,
        conversation,
        str(code),
        desc,
        f"paid, receipt {receipt}",
        receipt=receipt,
        amount=_amount(params.get(DARAJA_KEY_AMOUNT)),
        receiver=str(params[DARAJA_KEY_RECEIVER])[:200]
        if params.get(DARAJA_KEY_RECEIVER)
        else None,
        completed_at=str(params.get(DARAJA_KEY_COMPLETED) or "") or None,
        parameters=params,
    )


def amount_mismatch(result, expected):
    """Message when a paid result's amount differs from ``expected``, else None."""
    if result.outcome != DARAJA_OUTCOME_PAID or result.amount is None:
        return None
    if Decimal(str(expected)) != result.amount:
        return (
            f"Daraja reports {result.amount} paid for {result.ocid}, but the payment "
            f"is {expected}; check the transaction {result.receipt}."
        )
    return None
