"""Transaction Status results read as Safaricom sends them (published samples)."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from g2p_payment_simple_mpesa.mpesa import const, daraja_results, daraja_status
from g2p_payment_simple_mpesa.mpesa.daraja_results import ResultError

FIXTURES = Path(__file__).parent / "fixtures" / "daraja"


def sample(name):
    return json.loads((FIXTURES / name).read_text())


def with_status(body, word, **params):
    body = copy.deepcopy(body)
    items = body["Result"]["ResultParameters"]["ResultParameter"]
    for item in items:
        if item["Key"] == "TransactionStatus":
            item["Value"] = word
    for key, value in params.items():
        items.append({"Key": key, "Value": value})
    return body


@pytest.mark.parametrize(
    "name",
    [
        "transaction_status_completed.json",
        "transaction_status_completed_spaced_keys.json",
    ],
)
def test_safaricom_sample_names_the_query_on_top_and_the_payment_in_parameters(name):
    status = daraja_status.parse_status_result(sample(name))
    assert status.query_ocid == "3213-416199-2"
    assert status.payment_ocid == "3211-416020-3"
    assert status.payment_conversation_id == "AG_20180223_000041b09c22e613d6c9"
    assert status.outcome == const.DARAJA_OUTCOME_PAID
    assert status.receipt == "MBN31H462N"
    assert status.amount == Decimal(300)
    assert status.receiver == "254708374149 - John Doe"
    assert daraja_status.amount_mismatch(status, 300) is None
    assert "300" in daraja_status.amount_mismatch(status, 1500)


def test_a_status_result_read_as_a_b2c_result_would_name_the_query_not_the_payment():
    # Why status results need their own reader: the top OCID is the query's.
    as_b2c = daraja_results.parse_callback(sample("transaction_status_completed.json"))
    assert as_b2c.ocid == "3213-416199-2"


@pytest.mark.parametrize(
    ("word", "outcome"),
    [
        ("Completed", const.DARAJA_OUTCOME_PAID),
        ("Failed", const.DARAJA_OUTCOME_FAILED),
        ("Declined", const.DARAJA_OUTCOME_FAILED),
        ("Reversed", const.DARAJA_OUTCOME_REVERSED),
        ("Pending", const.DARAJA_OUTCOME_PENDING),
        ("Authorised", const.DARAJA_OUTCOME_PENDING),
        ("", const.DARAJA_OUTCOME_PENDING),
    ],
)
def test_the_outcome_is_read_from_transaction_status_unknown_words_wait(word, outcome):
    body = with_status(sample("transaction_status_completed.json"), word)
    status = daraja_status.parse_status_result(body)
    assert status.outcome == outcome
    if outcome != const.DARAJA_OUTCOME_PAID:
        assert status.status_word == (word or "(none)")


def test_a_non_zero_result_code_means_no_such_transaction():
    body = sample("transaction_status_completed.json")
    body["Result"]["ResultCode"] = 2032
    body["Result"]["ResultDesc"] = "The transaction could not be found."
    del body["Result"]["ResultParameters"]
    status = daraja_status.parse_status_result(body)
    assert status.outcome == const.DARAJA_OUTCOME_NOT_FOUND
    assert status.query_ocid == "3213-416199-2"
    assert status.payment_ocid is None
    assert "could not be found" in status.reason


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("ResultCode"),
        lambda r: (
            r.update(OriginatorConversationID=None, ConversationID=None)
            or r.pop("ResultParameters")
        ),
        lambda r: r["ResultParameters"]["ResultParameter"].pop(),  # ReceiptNo
        lambda r: r.update(OriginatorConversationID="x" * 300),
    ],
)
def test_malformed_status_results_are_refused(mutate):
    body = sample("transaction_status_completed.json")
    mutate(body["Result"])
    with pytest.raises(ResultError):
        daraja_status.parse_status_result(body)


def test_published_b2c_samples_read_as_paid_failed_and_unknown():
    paid = daraja_results.parse_callback(sample("b2c_result_success.json"))
    assert (paid.outcome, paid.receipt, paid.amount) == ("paid", "NLJ41HAY6Q", 10)
    assert paid.ocid == "10571-7910404-1"
    failed = daraja_results.parse_callback(sample("b2c_result_failure.json"))
    assert failed.outcome == "failed"
    assert "2001" in failed.reason and "initiator" in failed.reason
    timeout = daraja_results.parse_callback(
        sample("b2c_queue_timeout.json"), const.DARAJA_CALLBACK_TIMEOUT
    )
    assert timeout.outcome == "unknown"


def test_a_refused_query_waits_instead_of_meaning_no_such_transaction():
    body = sample("transaction_status_completed.json")
    body["Result"]["ResultCode"] = 2001
    body["Result"]["ResultDesc"] = "The initiator information is invalid."
    status = daraja_status.parse_status_result(body)
    assert status.outcome == const.DARAJA_OUTCOME_PENDING
    assert "initiator" in status.reason
