"""Parsing Daraja Result / QueueTimeOut callback bodies, valid and malformed."""

from decimal import Decimal

import pytest
from g2p_simulators.daraja import DarajaState

from g2p_payment_simple_mpesa.mpesa.const import (
    DARAJA_CALLBACK_TIMEOUT,
    DARAJA_OUTCOME_FAILED,
    DARAJA_OUTCOME_PAID,
    DARAJA_OUTCOME_UNKNOWN,
    DARAJA_RESULT_FAILURES,
)
from g2p_payment_simple_mpesa.mpesa.daraja_results import (
    ResultError,
    amount_mismatch,
    parse_callback,
)


def tx(code=0, amount=1500):
    return {
        "ocid": "G2P-abc-1",
        "conversation_id": "AG_1",
        "transaction_id": "SHK1ABC2DE",
        "msisdn": "254712345678",
        "amount": amount,
        "code": code,
    }


@pytest.fixture(scope="module")
def sim_state():
    return DarajaState()


def test_success_is_paid_with_receipt_amount_and_receiver(sim_state):
    result = parse_callback(sim_state.result_body(tx()))
    assert result.outcome == DARAJA_OUTCOME_PAID
    assert result.ocid == "G2P-abc-1" and result.conversation_id == "AG_1"
    assert result.receipt == "SHK1ABC2DE"
    assert result.amount == Decimal(1500)
    assert "254712345678" in result.receiver
    assert result.completed_at
    assert amount_mismatch(result, 1500) is None
    assert "1500" in amount_mismatch(result, 1400)


def test_string_result_code_and_single_parameter_object_are_accepted():
    body = {
        "Result": {
            "ResultCode": "0",
            "ResultDesc": "ok",
            "OriginatorConversationID": "o-1",
            "ConversationID": "c-1",
            "TransactionID": "T1",
            "ResultParameters": {
                "ResultParameter": {"Key": "TransactionAmount", "Value": "10.00"}
            },
        }
    }
    result = parse_callback(body)
    assert result.outcome == DARAJA_OUTCOME_PAID
    assert result.receipt == "T1"  # TransactionID when no TransactionReceipt
    assert result.amount == Decimal("10.00")


@pytest.mark.parametrize("code", sorted(DARAJA_RESULT_FAILURES))
def test_every_known_failure_code_is_failed_with_its_reason(sim_state, code):
    result = parse_callback(sim_state.result_body(tx(code)))
    assert result.outcome == DARAJA_OUTCOME_FAILED
    assert result.result_code == str(code)
    assert DARAJA_RESULT_FAILURES[code] in result.reason
    assert result.receipt is None


def test_unlisted_failure_code_is_failed_with_the_gateway_description():
    body = {
        "Result": {
            "ResultCode": 17,
            "ResultDesc": "System internal error.",
            "OriginatorConversationID": "o-2",
        }
    }
    result = parse_callback(body)
    assert result.outcome == DARAJA_OUTCOME_FAILED
    assert "System internal error." in result.reason


def test_queue_timeout_is_unknown_never_failed(sim_state):
    result = parse_callback(sim_state.timeout_body(tx()), kind=DARAJA_CALLBACK_TIMEOUT)
    assert result.outcome == DARAJA_OUTCOME_UNKNOWN
    assert "Transaction Status" in result.reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "not a JSON object"),
        ([], "not a JSON object"),
        ({}, "no Result object"),
        ({"Result": "x"}, "no Result object"),
        ({"Result": {"ResultCode": 0}}, "no OriginatorConversationID"),
        (
            {"Result": {"ResultCode": 0, "OriginatorConversationID": {"a": 1}}},
            "not a string",
        ),
        (
            {"Result": {"ResultCode": 0, "OriginatorConversationID": "a b;drop"}},
            "not a valid id",
        ),
        ({"Result": {"OriginatorConversationID": "o"}}, "no ResultCode"),
        (
            {"Result": {"ResultCode": "zero", "OriginatorConversationID": "o"}},
            "not a number",
        ),
        (
            {"Result": {"ResultCode": True, "OriginatorConversationID": "o"}},
            "no ResultCode",
        ),
        (
            {"Result": {"ResultCode": 0, "OriginatorConversationID": "o"}},
            "TransactionReceipt",
        ),
        (
            {
                "Result": {
                    "ResultCode": 0,
                    "OriginatorConversationID": "o",
                    "ResultParameters": [],
                }
            },
            "not an object",
        ),
        (
            {
                "Result": {
                    "ResultCode": 0,
                    "OriginatorConversationID": "o",
                    "ResultParameters": {"ResultParameter": [{"Value": 1}]},
                }
            },
            "no Key",
        ),
        (
            {
                "Result": {
                    "ResultCode": 0,
                    "OriginatorConversationID": "o",
                    "TransactionID": "T",
                    "ResultParameters": {
                        "ResultParameter": [
                            {"Key": "TransactionAmount", "Value": "lots"}
                        ]
                    },
                }
            },
            "not a number",
        ),
        (
            {
                "Result": {
                    "ResultCode": 0,
                    "OriginatorConversationID": "o",
                    "TransactionID": "T",
                    "ResultParameters": {
                        "ResultParameter": [{"Key": "TransactionAmount", "Value": "-5"}]
                    },
                }
            },
            "not an amount",
        ),
    ],
)
def test_malformed_bodies_raise_a_result_error_naming_the_problem(body, message):
    with pytest.raises(ResultError, match=message):
        parse_callback(body)


def test_unknown_callback_kind_is_refused():
    with pytest.raises(ResultError, match="kind"):
        parse_callback({"Result": {}}, kind="other")
