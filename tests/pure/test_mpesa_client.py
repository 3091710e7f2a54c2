"""SimpleMpesaClient against the simulator over HTTP on 127.0.0.1."""

import logging
import socket

import pytest
import requests
from g2p_simulators.simple_mpesa import SimulatorServer

from g2p_payment_simple_mpesa.mpesa.answers import jwt_exp
from g2p_payment_simple_mpesa.mpesa.client import Outcome, SimpleMpesaClient
from g2p_payment_simple_mpesa.mpesa.const import AMBIGUOUS, OK, RETRYABLE, TERMINAL
from g2p_payment_simple_mpesa.mpesa.errors import (
    AmountError,
    AuthError,
    ConfigError,
    GatewayError,
)

AGENT = "agent@sim.test"
PASSWORD = "Pa55-word-never-logged"
# Generous for a loaded CI box; stalls outlast it and cost the test nothing.
READ_TIMEOUT = 0.8
STALL = 2.5
PAYEE = "payee@sim.test"


class FakeClock:
    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def sim():
    server = SimulatorServer(
        agents=[(AGENT, PASSWORD, 100_000)],
        customers=[PAYEE, ("shop@sim.test", "merchant")],
    )
    server.start()
    yield server
    server.stop()


def make_client(sim, **options):
    options.setdefault("timeout", (2.0, READ_TIMEOUT))
    return SimpleMpesaClient(sim.auth_url, sim.payment_url, AGENT, PASSWORD, **options)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_deposit_ok_moves_money_once(sim):
    with make_client(sim) as client:
        outcome = client.deposit(150, PAYEE, "subscriber")
    assert outcome.kind == OK and outcome.http_status == 200 and outcome.sent
    assert outcome.latency_ms > 0
    assert sim.deposit_count(PAYEE) == 1
    assert sim.balance_of(AGENT) == 100_000 - 150
    assert sim.balance_of(PAYEE) == 150


def test_token_is_cached_across_deposits(sim):
    client = make_client(sim)
    for _ in range(5):
        assert client.deposit(10, PAYEE, "subscriber").kind == OK
    assert client.login_count == 1
    assert sim.deposit_count(PAYEE) == 5


def test_token_renewed_shortly_before_its_exp(sim):
    sim.state.token_ttl = 3600
    clock = FakeClock()
    sim.state.clock = clock
    client = make_client(sim, clock=clock)
    token = client.login()
    assert jwt_exp(token) == pytest.approx(clock.now + 3600, abs=1)
    clock.now += 3600 - 61  # still outside the renewal margin
    assert client.login() == token and client.login_count == 1
    clock.now += 2  # inside the margin: renew before the gateway says 401
    assert client.login() != token and client.login_count == 2


def test_token_without_exp_cached_six_hours(sim, monkeypatch):
    clock = FakeClock()
    client = make_client(sim, clock=clock)
    monkeypatch.setattr(
        "g2p_payment_simple_mpesa.mpesa.answers.jwt_exp", lambda token: None
    )
    client.login()
    clock.now += 6 * 3600 - 120
    client.login()
    assert client.login_count == 1
    clock.now += 100
    client.login()
    assert client.login_count == 2


def test_expired_token_relogs_in_once_and_retries_the_deposit(sim):
    client = make_client(sim)
    client.login()
    sim.expire_tokens()  # the gateway forgets tokens (restart, secret rotation)
    outcome = client.deposit(20, PAYEE, "subscriber")
    assert outcome.kind == OK
    assert client.login_count == 2
    assert sim.deposit_count(PAYEE) == 1
    assert sim.requests == 2  # the refused request plus one retry


def test_persistent_401_is_not_retried_forever(sim):
    client = make_client(sim)
    sim.add_fault("token_expiry", times=None)
    outcome = client.deposit(20, PAYEE, "subscriber")
    assert outcome.kind == RETRYABLE and outcome.systemic and not outcome.sent
    assert outcome.http_status == 401
    assert client.login_count == 2 and sim.requests == 2
    assert sim.deposit_count(PAYEE) == 0


def test_login_errors_are_clear_and_raise(sim):
    bad = SimpleMpesaClient(sim.auth_url, sim.payment_url, AGENT, "wrong")
    with pytest.raises(AuthError, match="provided credentials are invalid"):
        bad.login()
    unknown = SimpleMpesaClient(sim.auth_url, sim.payment_url, "x@y.z", "pw")
    with pytest.raises(AuthError, match="user not found"):
        unknown.login()
    wrong_type = SimpleMpesaClient(
        sim.base_url + "/api/login/nobody", sim.payment_url, AGENT, PASSWORD
    )
    with pytest.raises(AuthError, match="404"):
        wrong_type.login()
    down = SimpleMpesaClient(
        f"http://127.0.0.1:{free_port()}/api/login/agent", sim.payment_url, AGENT, "pw"
    )
    with pytest.raises(GatewayError, match="Could not reach"):
        down.login()


def test_deposit_with_refused_credentials_is_systemic_not_sent(sim):
    client = SimpleMpesaClient(sim.auth_url, sim.payment_url, AGENT, "wrong")
    outcome = client.deposit(20, PAYEE, "subscriber")
    assert (outcome.kind, outcome.systemic, outcome.sent) == (RETRYABLE, True, False)
    assert sim.requests == 0


@pytest.mark.parametrize(
    "amount, account, ctype, status, fragment",
    [
        (5, PAYEE, "subscriber", 500, "less than 10"),
        (10**9, PAYEE, "subscriber", 500, "balance not enough"),
        (50, "ghost@sim.test", "subscriber", 400, "user not found"),
        (50, PAYEE, "merchant", 400, "user not found"),
        (50, PAYEE, "alien", 400, "not allowed"),
    ],
)
def test_business_refusals_are_terminal(sim, amount, account, ctype, status, fragment):
    outcome = make_client(sim).deposit(amount, account, ctype)
    assert outcome.kind == TERMINAL, outcome
    assert outcome.http_status == status and fragment in outcome.message
    assert sim.deposit_counts() == {}
    assert sim.balance_of(AGENT) == 100_000


def test_frozen_account_is_terminal(sim):
    sim.freeze(PAYEE)
    outcome = make_client(sim).deposit(50, PAYEE, "subscriber")
    assert outcome.kind == TERMINAL and "frozen" in outcome.message


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_is_retryable(sim, status):
    sim.add_fault("status", status=status)
    outcome = make_client(sim).deposit(50, PAYEE, "subscriber")
    assert outcome.kind == RETRYABLE and outcome.http_status == status
    assert not outcome.systemic
    assert sim.deposit_count(PAYEE) == 0


@pytest.mark.parametrize("status", [500, 502, 504])
def test_unexplained_5xx_is_ambiguous(sim, status):
    sim.add_fault("status", status=status)
    outcome = make_client(sim).deposit(50, PAYEE, "subscriber")
    assert outcome.kind == AMBIGUOUS and outcome.sent


def test_2xx_with_unexpected_body_is_ambiguous(sim):
    sim.add_fault("status", status=200, apply=True)
    outcome = make_client(sim).deposit(50, PAYEE, "subscriber")
    assert outcome.kind == AMBIGUOUS and outcome.http_status == 200
    assert sim.deposit_count(PAYEE) == 1


def test_read_timeout_is_ambiguous(sim):
    sim.add_fault("timeout_after", delay=STALL)
    outcome = make_client(sim).deposit(50, PAYEE, "subscriber")
    assert outcome.kind == AMBIGUOUS and outcome.sent and outcome.http_status is None
    assert sim.deposit_count(PAYEE) == 1  # applied although we never heard back


@pytest.mark.parametrize("kind, applied", [("drop_after", 1), ("drop_before", 0)])
def test_dropped_connection_is_ambiguous(sim, kind, applied):
    sim.add_fault(kind)
    outcome = make_client(sim).deposit(50, PAYEE, "subscriber")
    assert outcome.kind == AMBIGUOUS and outcome.sent, outcome
    assert sim.deposit_count(PAYEE) == applied


def test_connection_refused_is_retryable_and_not_sent(sim):
    client = SimpleMpesaClient(
        sim.auth_url,
        f"http://127.0.0.1:{free_port()}/api/transaction/deposit",
        AGENT,
        PASSWORD,
    )
    outcome = client.deposit(50, PAYEE, "subscriber")
    assert outcome.kind == RETRYABLE and not outcome.sent
    assert "refused" in outcome.message


class RaisingSession(requests.Session):
    def __init__(self, exc):
        super().__init__()
        self.exc = exc

    def post(self, url, **kwargs):
        if url.endswith("/deposit"):
            raise self.exc
        return super().post(url, **kwargs)


@pytest.mark.parametrize(
    "exc, kind, sent",
    [
        (requests.ConnectTimeout("connect timed out"), RETRYABLE, False),
        (requests.ReadTimeout("read timed out"), AMBIGUOUS, True),
        (requests.ConnectionError("Connection aborted."), AMBIGUOUS, True),
        (requests.exceptions.ChunkedEncodingError("broken"), AMBIGUOUS, True),
    ],
)
def test_network_errors_classified(sim, exc, kind, sent):
    client = make_client(sim, session=RaisingSession(exc))
    outcome = client.deposit(50, PAYEE, "subscriber")
    assert (outcome.kind, outcome.sent) == (kind, sent)


def test_wrong_payment_url_is_systemic(sim):
    client = SimpleMpesaClient(
        sim.auth_url, sim.base_url + "/api/transaction/nowhere", AGENT, PASSWORD
    )
    outcome = client.deposit(50, PAYEE, "subscriber")
    assert outcome.kind == RETRYABLE and outcome.systemic and outcome.http_status == 404


def test_balance_and_statement(sim):
    client = make_client(sim)
    assert client.balance() == 100_000
    assert client.statement() == []
    for amount in (10, 11, 12, 13, 14, 15):
        client.deposit(amount, PAYEE, "subscriber")
    assert client.balance() == 100_000 - sum(range(10, 16))
    rows = client.statement()
    assert len(rows) == 5  # the gateway keeps only the last five
    assert [r["debitedAmount"] for r in rows] == [15, 14, 13, 12, 11]
    assert all(r["transactionType"] == "DEPOSIT" for r in rows)
    sim.expire_tokens()
    assert client.balance() == 100_000 - sum(range(10, 16))  # re-login on 401
    assert client.login_count == 2


def test_balance_urls_derived_or_overridden():
    client = SimpleMpesaClient(
        "http://gw/api/login/agent", "http://gw/api/transaction/deposit", "a", "p"
    )
    assert client.balance_url == "http://gw/api/account/balance"
    assert client.statement_url == "http://gw/api/account/statement"
    odd = SimpleMpesaClient("http://gw/login", "http://gw/pay", "a", "p")
    with pytest.raises(ConfigError, match="balance"):
        odd.balance()
    explicit = SimpleMpesaClient(
        "http://gw/login", "http://gw/pay", "a", "p", balance_url="http://gw/b"
    )
    assert explicit.balance_url == "http://gw/b"


def test_config_errors():
    with pytest.raises(ConfigError, match="endpoint URL"):
        SimpleMpesaClient("", "http://gw/pay", "a", "p")
    with pytest.raises(ConfigError, match="password"):
        SimpleMpesaClient("http://gw/login", "http://gw/pay", "a", "")


def test_password_never_in_repr_logs_or_errors(sim, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(sim)
    texts = [repr(client), str(vars(client))]
    texts.append(repr(client.deposit(50, PAYEE, "subscriber")))
    sim.add_fault("timeout_after", delay=STALL)
    texts.append(repr(client.deposit(50, PAYEE, "subscriber")))
    sim.expire_tokens()
    texts.append(repr(client.deposit(50, PAYEE, "subscriber")))
    bad = SimpleMpesaClient(sim.auth_url, sim.payment_url, AGENT, PASSWORD + "x")
    with pytest.raises(AuthError) as info:
        bad.login()
    texts += [str(info.value), repr(info.value), repr(bad)]
    texts.append(repr(bad.deposit(50, PAYEE, "subscriber")))
    assert caplog.text  # the flow did log something
    for text in [*texts, caplog.text]:
        assert PASSWORD not in text


def test_outcome_is_immutable():
    outcome = Outcome(OK, 200, "Success", 1.0, True, None)
    with pytest.raises(AttributeError):
        outcome.kind = TERMINAL


def test_fractional_amount_is_refused_before_sending(sim):
    client = make_client(sim)
    with pytest.raises(AmountError, match="whole"):
        client.deposit(10.5, PAYEE, "subscriber")
    assert client.deposit(10.0, PAYEE, "subscriber").kind == OK
    assert sim.requests == 1


def test_idle_keep_alive_pool_is_recycled_before_a_deposit(sim, monkeypatch):
    client = make_client(sim)
    closed = []
    adapter = client.session.get_adapter(sim.payment_url)
    original = adapter.close
    monkeypatch.setattr(adapter, "close", lambda: closed.append(1) or original())
    assert client.deposit(10, PAYEE, "subscriber").kind == OK
    assert client.deposit(10, PAYEE, "subscriber").kind == OK
    assert closed == []  # busy connection is reused
    client._last_io -= 60  # as if idle for a minute
    assert client.deposit(10, PAYEE, "subscriber").kind == OK
    assert closed  # a possibly half-closed socket is never reused for money


def test_netrc_entry_cannot_replace_the_bearer_token(sim, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password other\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert make_client(sim).deposit(10, PAYEE, "subscriber").kind == OK


def test_proxy_environment_read_once_at_construction(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = SimpleMpesaClient(
        "https://gw.example/api/login/agent",
        "https://gw.example/api/transaction/deposit",
        "a",
        "p",
    )
    assert client.session.proxies.get("https") == "http://proxy.example:3128"
    assert client.session.trust_env is False
