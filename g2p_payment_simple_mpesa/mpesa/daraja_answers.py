"""What a Daraja B2C answer means: the outcome of one answered request.

No HTTP here (``daraja_client`` sends); only the reading of a status code and
body, so every Daraja error code is classified in one place.  An unexplained
5xx is AMBIGUOUS but, unlike simple-mpesa, not "in doubt": the payment is sent
again with the same OriginatorConversationID and Daraja's duplicate answer
(500.002.1001) then says it was already accepted.
"""

from dataclasses import dataclass

from . import answers
from .client import Outcome
from .const import (
    AMBIGUOUS,
    DARAJA_ERR_BAD_REQUEST,
    DARAJA_ERR_DUPLICATE,
    DARAJA_ERR_INTERNAL,
    DARAJA_RATE_LIMIT_CODES,
    DARAJA_RESPONSE_ACCEPTED,
    OK,
    RETRYABLE,
    TERMINAL,
)


@dataclass(frozen=True)
class DarajaOutcome(Outcome):
    """An :class:`Outcome` with what Daraja adds to it."""

    error_code: str | None = None
    conversation_id: str | None = None
    duplicate: bool = False  # the OCID was already accepted earlier
    rate_limited: bool = False  # spike arrest / quota: slow down


def daraja_message(body, response=None):
    """The human part of a Daraja answer (its fields differ per endpoint)."""
    if body:
        for key in ("errorMessage", "ResponseDescription", "message", "error"):
            if body.get(key):
                return str(body[key])
    return answers.gateway_message(body, response)


def classify(status, body, message, outcome):
    """Outcome of an answered request (``outcome`` builds a DarajaOutcome)."""
    body = body or {}
    code = str(body.get("errorCode") or "")
    if code == DARAJA_ERR_DUPLICATE:
        return outcome(
            OK,
            status,
            f"already accepted (duplicate OriginatorConversationID: {message})",
            True,
            body,
            error_code=code,
            duplicate=True,
        )
    if code in DARAJA_RATE_LIMIT_CODES or status == 429:
        return outcome(
            RETRYABLE,
            status,
            f"rate limited: {message}",
            True,
            body,
            error_code=code or None,
            rate_limited=True,
        )
    if 200 <= status < 300:
        return _classify_success(status, body, message, outcome)
    if code == DARAJA_ERR_BAD_REQUEST:
        return outcome(
            TERMINAL, status, f"bad request: {message}", True, body, error_code=code
        )
    if status == 503:
        return outcome(RETRYABLE, status, message, True, body, error_code=code or None)
    if status in (404, 405):
        return outcome(
            RETRYABLE,
            status,
            f"Daraja endpoint not found ({status}); check the Daraja base URL",
            True,
            body,
            systemic=True,
        )
    if 400 <= status < 500:
        return outcome(TERMINAL, status, message, True, body, error_code=code or None)
    # 500.003.1001 and unexplained 5xx: may have been accepted.  Safe to send
    # again with the same OCID, so not "in doubt".
    what = "internal error" if code == DARAJA_ERR_INTERNAL else "gateway error"
    return outcome(
        AMBIGUOUS, status, f"{what}: {message}", True, body, error_code=code or None
    )


def _classify_success(status, body, message, outcome):
    # A 2xx carries its verdict in ResponseCode: "0" accepted, others refused.
    response_code = str(body.get("ResponseCode", "")).strip()
    if response_code == DARAJA_RESPONSE_ACCEPTED:
        return outcome(
            OK,
            status,
            message or "accepted",
            True,
            body,
            conversation_id=body.get("ConversationID"),
        )
    if response_code:
        return outcome(TERMINAL, status, message, True, body, error_code=response_code)
    return outcome(AMBIGUOUS, status, f"unexpected answer: {message}", True, body)
