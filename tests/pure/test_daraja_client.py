"""DarajaClient against the Daraja simulator over HTTP on 127.0.0.1."""

import socket
import threading

import pytest
from g2p_simulators.daraja import DarajaSimulator

from g2p_payment_simple_mpesa.mpesa.const import (
    AMBIGUOUS,
    DARAJA_ERR_BAD_REQUEST,
    DARAJA_ERR_INTERNAL,
    DARAJA_ERR_QUOTA,
    DARAJA_ERR_SPIKE_ARREST,
    OK,
    RETRYABLE,
    TERMINAL,
)
from g2p_payment_simple_mpesa.mpesa.daraja_client import DarajaClient, TokenCache
from g2p_payment_simple_mpesa.mpesa.daraja_credential import security_credential
from g2p_payment_simple_mpesa.mpesa.daraja_results import parse_callback
from g2p_payment_simple_mpesa.mpesa.daraja_status import parse_status_result

MSISDN = "254712345678"


@pytest.fixture
def sim():
    server = DarajaSimulator(delivery="outbox")
    server.start()
    yield server
    server.stop()


def make_client(sim, **options):
    options.setdefault("timeout", (2.0, 0.8))
    options.setdefault("token_cache", TokenCache())
    return DarajaClient(
        token_url=sim.token_url,
        payment_url=sim.payment_url,
        status_url=sim.status_url,
        consumer_key=options.pop("consumer_key", sim.consumer_key),
        consumer_secret=options.pop("consumer_secret", sim.consumer_secret),
        shortcode=sim.shortcode,
        initiator_name=sim.initiator_name,
        security_credential=options.pop(
            "credential",
            security_credential(sim.initiator_password, sim.certificate_pem),
        ),
        result_url="http://odoo.test/apiv1mpesa/daraja/s3cret/result",
        timeout_url="http://odoo.test/apiv1mpesa/daraja/s3cret/timeout",
        **options,
    )


def results(sim):
    return [parse_callback(body) for _url, body in sim.take_callbacks()]


def test_payment_accepted_then_paid_by_the_callback(sim):
    with make_client(sim) as client:
        outcome = client.pay("ocid-1", 1500, MSISDN, "Cash transfer")
    assert outcome.kind == OK and outcome.conversation_id and not outcome.duplicate
    [(url, body)] = sim.take_callbacks()
    assert url.endswith("/s3cret/result")
    result = parse_callback(body)
    assert result.outcome == "paid" and result.ocid == "ocid-1" and result.receipt
    assert sim.ledger() == {MSISDN: 1}


def test_same_ocid_again_is_duplicate_accepted_and_pays_nobody_twice(sim):
    client = make_client(sim)
    assert client.pay("ocid-2", 100, MSISDN, "Cash").kind == OK
    again = client.pay("ocid-2", 100, MSISDN, "Cash")
    assert again.kind == OK and again.duplicate and again.error_code == "500.002.1001"
    assert sim.ledger() == {MSISDN: 1}
    assert sim.duplicates == 1


def test_timeout_after_acceptance_is_ambiguous_and_the_retry_is_a_duplicate(sim):
    sim.add_fault("timeout_after", nth=1, delay=1.5)
    client = make_client(sim)
    first = client.pay("ocid-3", 100, MSISDN, "Cash")
    assert first.kind == AMBIGUOUS and first.sent
    retry = client.pay("ocid-3", 100, MSISDN, "Cash")
    assert retry.kind == OK and retry.duplicate
    assert sim.ledger() == {MSISDN: 1}


def test_token_shared_and_reused_then_renewed_after_invalidation(sim):
    cache = TokenCache()
    a, b = make_client(sim, token_cache=cache), make_client(sim, token_cache=cache)
    assert a.pay("o-a", 100, MSISDN, "Cash").kind == OK
    assert b.pay("o-b", 100, MSISDN, "Cash").kind == OK
    assert sim.tokens_issued == 1 and cache.logins == 1
    sim.add_fault("token_expiry", nth=3)  # as if another process got a new token
    assert a.pay("o-c", 100, MSISDN, "Cash").kind == OK
    assert sim.tokens_issued == 2


def test_token_renewed_before_expiry(sim):
    now = [1_000_000.0]
    cache = TokenCache(clock=lambda: now[0])
    sim.state.clock = lambda: now[0]
    client = make_client(sim, token_cache=cache)
    assert client.pay("t-1", 100, MSISDN, "Cash").kind == OK
    now[0] += 3599 - 100  # inside the renewal margin, before the gateway expiry
    assert client.pay("t-2", 100, MSISDN, "Cash").kind == OK
    assert cache.logins == 2 and sim.tokens_issued == 2


def test_concurrent_threads_renew_the_token_once(sim):
    cache = TokenCache()
    client = make_client(sim, token_cache=cache, pool_size=8)
    outcomes = []

    def pay(i):
        outcomes.append(client.pay(f"c-{i}", 100, "2547%08d" % i, "Cash").kind)

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [OK] * 8
    assert cache.logins == 1 and sim.tokens_issued == 1


def test_wrong_consumer_secret_is_systemic_and_sends_nothing(sim):
    outcome = make_client(sim, consumer_secret="wrong").pay("o", 100, MSISDN, "Cash")
    assert outcome.kind == RETRYABLE and outcome.systemic and not outcome.sent
    assert "consumer key and secret" in outcome.message
    assert "wrong" not in outcome.message
    assert sim.requests == 0


@pytest.mark.parametrize(
    ("code", "kind", "rate_limited"),
    [
        (DARAJA_ERR_SPIKE_ARREST, RETRYABLE, True),
        (DARAJA_ERR_QUOTA, RETRYABLE, True),
        (DARAJA_ERR_BAD_REQUEST, TERMINAL, False),
        (DARAJA_ERR_INTERNAL, AMBIGUOUS, False),
    ],
)
def test_error_codes_are_classified(sim, code, kind, rate_limited):
    sim.add_fault("error", code=code)
    outcome = make_client(sim).pay("e-1", 100, MSISDN, "Cash")
    assert (outcome.kind, outcome.rate_limited) == (kind, rate_limited)
    assert outcome.error_code == code
    assert sim.ledger() == {}


def test_spike_arrest_limit_of_the_simulator_answers_429(sim):
    sim.state.spike_limit = 2
    client = make_client(sim)
    kinds = [client.pay(f"s-{i}", 100, MSISDN, "Cash") for i in range(4)]
    assert [o.kind for o in kinds[:2]] == [OK, OK]
    assert kinds[2].rate_limited and kinds[2].http_status == 429


def test_invalid_msisdn_is_a_bad_request(sim):
    outcome = make_client(sim).pay("b-1", 100, "0712345678", "Cash")
    assert outcome.kind == TERMINAL and outcome.error_code == DARAJA_ERR_BAD_REQUEST


def test_wrong_initiator_password_fails_2001_then_locks_8006(sim):
    bad = security_credential("not-it", sim.certificate_pem)
    client = make_client(sim, credential=bad)
    for i in range(4):
        assert client.pay(f"w-{i}", 100, MSISDN, "Cash").kind == OK
    codes = [r.result_code for r in results(sim)]
    assert codes == ["2001", "2001", "2001", "8006"]
    assert sim.ledger() == {}


def test_status_query_is_answered_on_its_own_path_naming_query_and_payment(sim):
    client = make_client(sim)
    client.status_result_url = "http://odoo.test/cb/s3cret/status"
    sim.add_fault("lose_callback")
    assert client.pay("q-1", 250, MSISDN, "Cash").kind == OK
    assert sim.take_callbacks() == []
    ack = client.query_status("q-1")
    assert ack.kind == OK
    [(url, body)] = sim.take_callbacks()
    assert url == "http://odoo.test/cb/s3cret/status"
    status = parse_status_result(body)
    # The query's own ids are on top, as in the synchronous answer.
    assert status.query_ocid == ack.body["OriginatorConversationID"] != "q-1"
    assert (status.payment_ocid, status.outcome, status.amount) == ("q-1", "paid", 250)
    unknown = client.query_status("never-sent")
    assert unknown.kind == OK
    [(_url, body)] = sim.take_callbacks()
    assert parse_status_result(body).outcome == "not_found"


def test_status_query_for_an_unknown_id_may_be_refused_synchronously():
    with DarajaSimulator(delivery="outbox", not_found="sync") as sim:
        unknown = make_client(sim).query_status("never-sent")
    assert unknown.kind == TERMINAL and unknown.error_code == DARAJA_ERR_BAD_REQUEST


def test_connection_refused_is_retryable_and_not_sent(sim):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(sim)
    client.token()
    client.payment_url = f"http://127.0.0.1:{port}/mpesa/b2c/v3/paymentrequest"
    outcome = client.pay("r-1", 100, MSISDN, "Cash")
    assert outcome.kind == RETRYABLE and not outcome.sent


def test_secrets_never_in_repr(sim):
    client = make_client(sim)
    text = repr(client) + repr(vars(client))
    assert sim.consumer_secret not in text
    assert client.payment_body("o", 1, MSISDN, "r")["SecurityCredential"] not in text


@pytest.mark.parametrize(
    ("setting", "amount", "code"),
    [
        ({"balance": 50}, 100, "1"),
        ({}, 5, "2"),
        ({}, 250_001, "3"),
        ({"daily_limit": 150}, 200, "4"),
        ({"max_customer_balance": 150}, 200, "8"),
        ({"registered": {"254700000009"}}, 100, "2040"),
    ],
)
def test_simulator_business_failures_arrive_as_result_codes(sim, setting, amount, code):
    for name, value in setting.items():
        setattr(sim.state, name, value)
    if "balance" in setting:
        sim.state.initial_balance = setting["balance"]
    outcome = make_client(sim).pay("biz-1", amount, MSISDN, "Cash")
    assert outcome.kind == OK
    [result] = results(sim)
    assert (result.outcome, result.result_code) == ("failed", code)
    assert sim.ledger() == {}


def test_simulator_result_code_fault_and_queue_timeout(sim):
    sim.add_fault("result_code", code=2040, msisdn=MSISDN)
    sim.add_fault("queue_timeout", msisdn="254712345679")
    client = make_client(sim)
    client.pay("f-1", 100, MSISDN, "Cash")
    client.pay("f-2", 100, "254712345679", "Cash")
    [(_u1, failed), (url, timeout)] = sim.take_callbacks()
    assert parse_callback(failed).result_code == "2040"
    assert url.endswith("/timeout")
    assert parse_callback(timeout, kind="timeout").outcome == "unknown"
    assert sim.ledger() == {"254712345679": 1}  # processed despite the timeout
