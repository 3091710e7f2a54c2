"""HTTP client of the simple-mpesa gateway.

``deposit`` never raises for gateway or network trouble: it classifies what
happened into an :class:`Outcome` so the dispatch engine can decide whether
the payment is paid, failed, retryable or in doubt.  Deposits carry no
idempotency key, so anything that *may* have reached the gateway and was not
clearly answered is AMBIGUOUS and must never be re-sent automatically.
"""

import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from . import answers
from .const import (
    AMBIGUOUS,
    DEFAULT_API_TIMEOUT,
    DEFAULT_TOKEN_TTL,
    GATEWAY_STATUS_SUCCESS,
    OK,
    RETRYABLE,
    TERMINAL,
    TOKEN_RENEW_MARGIN,
)
from .errors import AuthError, ConfigError, GatewayError
from .payee import whole_amount

_logger = logging.getLogger(__name__)

# Pooled connections idle longer than this are dropped before a deposit: a
# server closing an idle keep-alive socket just as we reuse it would otherwise
# turn a harmless reconnect into an ambiguous (in-doubt) payment.
IDLE_RECONNECT_SECONDS = 4.0

FORM = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json",
}


@dataclass(frozen=True)
class Outcome:
    """What one deposit request came to.

    ``sent`` is True when the request may have reached the gateway.
    ``systemic`` marks trouble that affects every payment (credentials refused,
    wrong URL): the engine stops the run instead of failing payments one by one.
    """

    kind: str
    http_status: int | None
    message: str
    latency_ms: float
    sent: bool
    body: dict | None = None
    systemic: bool = False


class _Secret:
    """Holds a secret; its repr never shows it (locals dumps, vars(), debuggers)."""

    __slots__ = ("_value",)

    def __init__(self, value):
        self._value = value

    def reveal(self):
        return self._value

    def __repr__(self):
        return "'********'"

    __str__ = __repr__


def _form(fields):
    # Bytes, not str: http.client then sends headers and body in one write.
    return urlencode(fields).encode("ascii")


class SimpleMpesaClient:
    """One agent's session with a simple-mpesa gateway (not thread-safe)."""

    def __init__(
        self,
        auth_url,
        payment_url,
        username,
        password,
        timeout=DEFAULT_API_TIMEOUT,
        session=None,
        clock=time.time,
        balance_url=None,
        statement_url=None,
    ):
        if not auth_url or not payment_url:
            raise ConfigError(
                "Set both the authentication and the payment endpoint URL."
            )
        if not username or not password:
            raise ConfigError("Set the gateway username and password.")
        self.auth_url = auth_url
        self.payment_url = payment_url
        self.username = username
        self._password = _Secret(password)
        if isinstance(timeout, tuple | list):
            self.timeout = (float(timeout[0]), float(timeout[1]))
        else:
            self.timeout = (float(timeout), float(timeout))
        self._own_session = session is None
        self.session = session if session is not None else self._new_session()
        self.clock = clock
        base = payment_url.rstrip("/")
        marker = "/transaction/"
        root = base[: base.rfind(marker)] if marker in base else None
        self.balance_url = balance_url or (root and root + "/account/balance")
        self.statement_url = statement_url or (root and root + "/account/statement")
        self._token = None
        self._token_valid_until = 0.0
        self._last_io = None
        self.login_count = 0

    def _new_session(self):
        """Keep-alive session with the environment read once, not per request.

        With ``trust_env`` requests re-reads proxy variables and ~/.netrc on
        every call (a third of our CPU per deposit), and a netrc entry for the
        gateway host would replace the Bearer header with Basic auth.
        """
        session = requests.Session()
        session.trust_env = False
        session.proxies = requests.utils.get_environ_proxies(self.payment_url)
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
            "CURL_CA_BUNDLE"
        )
        if bundle:
            session.verify = bundle
        return session

    def __repr__(self):
        return (
            f"<SimpleMpesaClient user={self.username!r} "
            f"payment_url={self.payment_url!r}>"
        )

    # -- session -----------------------------------------------------------
    def close(self):
        if self._own_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def invalidate_token(self):
        self._token = None
        self._token_valid_until = 0.0

    @property
    def has_valid_token(self):
        return bool(self._token) and self.clock() < self._token_valid_until

    def login(self, force=False):
        """Return a bearer token, logging in unless a cached one is still valid.

        Raises AuthError when the credentials are refused and GatewayError when
        the gateway cannot be reached or answers something unexpected.
        """
        if not force and self.has_valid_token:
            return self._token
        try:
            response = self.session.post(
                self.auth_url,
                data=_form(
                    {"email": self.username, "password": self._password.reveal()}
                ),
                headers=FORM,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise GatewayError(
                f"Could not reach the Mpesa login endpoint {self.auth_url}: "
                f"{type(exc).__name__}"
            ) from None
        body = answers.json_body(response)
        if response.status_code in (400, 401, 403):
            raise AuthError(
                f"Mpesa refused the login of {self.username!r} "
                f"({response.status_code}: {answers.gateway_message(body, response)}). "
                f"Check the username and password of the payment manager."
            )
        if response.status_code == 404:
            raise AuthError(
                f"The Mpesa login endpoint {self.auth_url} does not exist (404). "
                f"Check the authentication endpoint URL."
            )
        token = (body or {}).get("token") if response.status_code == 200 else None
        if not token or not isinstance(token, str):
            raise GatewayError(
                f"Unexpected answer from the Mpesa login endpoint "
                f"(HTTP {response.status_code}).",
                http_status=response.status_code,
            )
        now = self.clock()
        exp = answers.jwt_exp(token) or now + DEFAULT_TOKEN_TTL
        margin = min(TOKEN_RENEW_MARGIN, max((exp - now) / 10.0, 0.0))
        self._token = token
        self._token_valid_until = exp - margin
        self.login_count += 1
        _logger.info("Logged in to Mpesa as %s", self.username)
        return token

    # -- requests ----------------------------------------------------------
    def _auth_headers(self, token):
        headers = dict(FORM)
        headers["Authorization"] = "Bearer " + token
        return headers

    def deposit(self, amount, account_no, customer_type):
        """Send one deposit and classify the result (never raises for I/O)."""
        start = time.perf_counter()

        def outcome(kind, status, message, sent, body=None, systemic=False):
            ms = (time.perf_counter() - start) * 1000.0
            return Outcome(kind, status, message, ms, sent, body, systemic)

        # A fraction is a caller bug, never truncated; the minimum is the gateway's.
        amount = whole_amount(amount, minimum=None)
        data = {
            "amount": amount,
            "accountNo": account_no,
            "customerType": customer_type,
        }
        payload = _form(data)
        for attempt in (1, 2):
            try:
                token = self.login()
            except AuthError as exc:
                return outcome(RETRYABLE, None, str(exc), False, systemic=True)
            except GatewayError as exc:
                return outcome(RETRYABLE, exc.http_status, str(exc), False)
            self._drop_idle_connections()
            try:
                response = self.session.post(
                    self.payment_url,
                    data=payload,
                    headers=self._auth_headers(token),
                    timeout=self.timeout,
                )
            except requests.ConnectTimeout:
                return outcome(RETRYABLE, None, "connect timeout (not sent)", False)
            except requests.ReadTimeout:
                return outcome(
                    AMBIGUOUS, None, "no answer within the read timeout", True
                )
            except requests.ConnectionError as exc:
                if answers.nothing_sent(exc):
                    return outcome(
                        RETRYABLE, None, "connection refused (not sent)", False
                    )
                return outcome(AMBIGUOUS, None, "connection lost after sending", True)
            except requests.RequestException as exc:
                return outcome(
                    AMBIGUOUS, None, f"request failed: {type(exc).__name__}", True
                )
            self._last_io = time.monotonic()
            status = response.status_code
            body = answers.json_body(response)
            message = answers.gateway_message(body, response)
            if status == 401:
                self.invalidate_token()
                if attempt == 1:
                    continue
                return outcome(
                    RETRYABLE,
                    status,
                    f"unauthorized after re-login: {message}",
                    False,
                    body,
                    systemic=True,
                )
            return self._classify(status, body, message, outcome)
        raise AssertionError("unreachable")

    def _drop_idle_connections(self):
        now = time.monotonic()
        if self._last_io is not None and now - self._last_io > IDLE_RECONNECT_SECONDS:
            for adapter in self.session.adapters.values():
                adapter.close()  # pools are re-created on demand
        self._last_io = now

    @staticmethod
    def _classify(status, body, message, outcome):
        if 200 <= status < 300:
            if body and body.get("status") == GATEWAY_STATUS_SUCCESS:
                return outcome(OK, status, message or "success", True, body)
            return outcome(
                AMBIGUOUS, status, f"unexpected answer: {message}", True, body
            )
        if status in (429, 503):
            return outcome(RETRYABLE, status, message, True, body)
        if status in (404, 405):
            return outcome(
                RETRYABLE,
                status,
                f"payment endpoint not found ({status}); check the payment URL",
                True,
                body,
                systemic=True,
            )
        if 400 <= status < 500:
            return outcome(TERMINAL, status, message, True, body)
        if answers.is_business_error(message):
            return outcome(TERMINAL, status, message, True, body)
        return outcome(AMBIGUOUS, status, f"gateway error: {message}", True, body)

    def _get(self, url, what):
        if not url:
            raise ConfigError(
                f"No {what} URL: the payment URL does not end in "
                f"/transaction/deposit; set it explicitly."
            )
        for attempt in (1, 2):
            token = self.login()
            try:
                response = self.session.get(
                    url, headers=self._auth_headers(token), timeout=self.timeout
                )
            except requests.RequestException as exc:
                raise GatewayError(
                    f"Could not read the Mpesa {what}: {type(exc).__name__}"
                ) from None
            if response.status_code == 401 and attempt == 1:
                self.invalidate_token()
                continue
            body = answers.json_body(response)
            if response.status_code != 200 or not body or "data" not in body:
                raise GatewayError(
                    f"Could not read the Mpesa {what} (HTTP {response.status_code}: "
                    f"{answers.gateway_message(body, response)}).",
                    http_status=response.status_code,
                )
            return body["data"] or {}
        raise AssertionError("unreachable")

    def balance(self):
        """Current balance of the logged-in agent (whole shillings)."""
        data = self._get(self.balance_url, "balance")
        try:
            return int(data["balance"])
        except (KeyError, TypeError, ValueError):
            raise GatewayError("The Mpesa balance answer has no balance.") from None

    def statement(self):
        """Last transactions of the agent (the gateway returns at most 5)."""
        data = self._get(self.statement_url, "statement")
        return list(data.get("transactions") or [])
