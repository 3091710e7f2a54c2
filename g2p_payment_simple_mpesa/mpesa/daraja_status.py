"""Reading a Daraja Transaction Status result (no HTTP, no Odoo).

A status result is not shaped like a B2C result: the ids on top
(``OriginatorConversationID``, ``ConversationID``) are the QUERY's, and a
``ResultCode`` of 0 says the query was processed, not that the payment
succeeded.  The queried payment is described in ``ResultParameters``: its
``TransactionStatus``, ``ReceiptNo``, ``Amount``, and its own ids under
``OriginatorConversationID`` or, in Safaricom's sample, ``Originator
Conversation ID``.  Values come as numbers or strings.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from .const import (
    DARAJA_OUTCOME_NOT_FOUND,
    DARAJA_OUTCOME_PAID,
    DARAJA_OUTCOME_PENDING,
    DARAJA_QUERY_REFUSED_CODES,
    DARAJA_STATUS_KEY_AMOUNT,
    DARAJA_STATUS_KEY_CREDIT_PARTY,
    DARAJA_STATUS_KEY_FINALISED,
    DARAJA_STATUS_KEY_REASON,
    DARAJA_STATUS_KEY_RECEIPT,
    DARAJA_STATUS_KEY_STATUS,
    DARAJA_STATUS_KEYS_CONVERSATION,
    DARAJA_STATUS_KEYS_OCID,
    DARAJA_STATUS_WORDS,
)
from .daraja_results import ResultError, _amount, _text, parameters


@dataclass(frozen=True)
class StatusResult:
    query_ocid: str | None  # the query's own ids (top of the result)
    query_conversation_id: str | None
    payment_ocid: str | None  # the payment's ids, from ResultParameters
    payment_conversation_id: str | None
    outcome: str  # paid | failed | reversed | pending | not_found
    status_word: str  # Daraja's own word (TransactionStatus) or the ResultDesc
    reason: str  # for a program officer
    receipt: str | None = None
    amount: Decimal | None = None
    receiver: str | None = None
    finalised_at: str | None = None
    parameters: dict = field(default_factory=dict)


def _first(params, keys):
    for key in keys:
        value = params.get(key)
        if value not in (None, ""):
            return value
    return None


def _query_code(value):
    """ResultCode of the query: 0 (processed) or anything else (not found)."""
    if value is None or isinstance(value, bool):
        raise ResultError("The status result has no ResultCode.")
    return str(value).strip()


def parse_status_result(body):
    """A :class:`StatusResult` from a status callback body (ResultError if invalid)."""
    if not isinstance(body, dict) or not isinstance(body.get("Result"), dict):
        raise ResultError("The status result has no Result object.")
    result = body["Result"]
    query_ocid = _text(
        result.get("OriginatorConversationID"), "OriginatorConversationID", False
    )
    query_conversation = _text(result.get("ConversationID"), "ConversationID", False)
    desc = str(result.get("ResultDesc") or "").strip()[:500]
    code = _query_code(result.get("ResultCode"))
    params = parameters(result)
    payment_ocid = _text(
        _first(params, DARAJA_STATUS_KEYS_OCID),
        "payment's OriginatorConversationID",
        False,
    )
    payment_conversation = _text(
        _first(params, DARAJA_STATUS_KEYS_CONVERSATION),
        "payment's ConversationID",
        False,
    )
    if not (query_ocid or query_conversation or payment_ocid):
        raise ResultError("The status result names neither the query nor a payment.")
    ids = {
        "query_ocid": query_ocid,
        "query_conversation_id": query_conversation,
        "payment_ocid": payment_ocid,
        "payment_conversation_id": payment_conversation,
        "parameters": params,
    }
    if code in DARAJA_QUERY_REFUSED_CODES:
        return StatusResult(
            outcome=DARAJA_OUTCOME_PENDING,
            status_word=desc or f"ResultCode {code}",
            reason=f"the status query was refused (result {code}: {desc or '-'}); "
            "check the initiator name and password",
            **ids,
        )
    if code not in ("0", "00"):
        return StatusResult(
            outcome=DARAJA_OUTCOME_NOT_FOUND,
            status_word=desc or f"ResultCode {code}",
            reason=f"Daraja found no such transaction (result {code}: {desc or '-'})",
            **ids,
        )
    word = str(params.get(DARAJA_STATUS_KEY_STATUS) or "").strip()
    outcome = DARAJA_STATUS_WORDS.get(word.lower(), DARAJA_OUTCOME_PENDING)
    receipt = _text(params.get(DARAJA_STATUS_KEY_RECEIPT), "ReceiptNo", False)
    if outcome == DARAJA_OUTCOME_PAID and not receipt:
        raise ResultError("The status result says Completed but has no ReceiptNo.")
    reason_type = str(params.get(DARAJA_STATUS_KEY_REASON) or "").strip()
    return StatusResult(
        outcome=outcome,
        status_word=word or "(none)",
        reason=_reason(outcome, word, receipt, reason_type),
        receipt=receipt,
        amount=_amount(params.get(DARAJA_STATUS_KEY_AMOUNT)),
        receiver=str(params.get(DARAJA_STATUS_KEY_CREDIT_PARTY) or "")[:200] or None,
        finalised_at=str(params.get(DARAJA_STATUS_KEY_FINALISED) or "") or None,
        **ids,
    )


def _reason(outcome, word, receipt, reason_type):
    detail = f" ({reason_type})" if reason_type else ""
    if outcome == DARAJA_OUTCOME_PAID:
        return f"paid, receipt {receipt} (Transaction Status: {word})"
    if outcome == DARAJA_OUTCOME_PENDING:
        return f"Transaction Status {word or '(none)'}{detail}: not final yet"
    return f"Transaction Status {word}{detail}"


def amount_mismatch(status, expected):
    """Message when a Completed status reports another amount, else None."""
    if status.outcome != DARAJA_OUTCOME_PAID or status.amount is None:
        return None
    if Decimal(str(expected)) != status.amount:
        return (
            f"Daraja reports {status.amount} paid (receipt {status.receipt}), but "
            f"the payment is {expected}; check the transaction."
        )
    return None
