"""HTTP client of Safaricom Daraja B2C (payment request, transaction status).

Like ``client.SimpleMpesaClient.deposit``, ``pay`` never raises for gateway or
network trouble: it returns a :class:`DarajaOutcome` (``daraja_answers`` reads
the answer).  Unlike simple-mpesa, every payment carries its
OriginatorConversationID (OCID), so an unanswered request may be sent again
with the same OCID: the gateway rejects a duplicate (500.002.1001), which
means "already accepted".  Thread-safe: several threads send through one
client; they share one OAuth token (``daraja_token``).
"""

import base64
import logging
import time

import requests
from requests.adapters import HTTPAdapter

from . import answers
from .client import _Secret
from .const import (
    AMBIGUOUS,
    DARAJA_DEFAULT_COMMAND_ID,
    DARAJA_DEFAULT_TOKEN_TTL,
    DARAJA_ERR_INVALID_TOKEN,
    DARAJA_IDENTIFIER_SHORTCODE,
    DARAJA_PAYMENT_PATH,
    DARAJA_STATUS_COMMAND_ID,
    DARAJA_STATUS_PATH,
    DARAJA_TOKEN_PATH,
    DEFAULT_API_TIMEOUT,
    RETRYABLE,
)
from .daraja_answers import DarajaOutcome, classify, daraja_message
from .daraja_token import TokenCache, shared_token_cache
from .errors import AuthError, ConfigError, GatewayError

# Re-exported: callers imported these from here before they had modules of
# their own.
__all__ = ["DarajaClient", "DarajaOutcome", "TokenCache", "daraja_urls"]

_logger = logging.getLogger(__name__)

JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def daraja_urls(base_url):
    """(token, payment, status) URLs under a Daraja host."""
    base = (base_url or "").rstrip("/")
    return (
        base + DARAJA_TOKEN_PATH,
        base + DARAJA_PAYMENT_PATH,
        base + DARAJA_STATUS_PATH,
    )


class DarajaClient:
    """Sends B2C payment requests and status queries for one shortcode."""

    def __init__(
        self,
        *,
        token_url,
        payment_url,
        status_url,
        consumer_key,
        consumer_secret,
        shortcode,
        initiator_name,
        security_credential,
        result_url,
        timeout_url,
        status_result_url=None,
        status_timeout_url=None,
        command_id=DARAJA_DEFAULT_COMMAND_ID,
        timeout=DEFAULT_API_TIMEOUT,
        session=None,
        token_cache=None,
        pool_size=10,
    ):
        if not token_url or not payment_url:
            raise ConfigError("Set the Daraja token and payment URLs.")
        if not consumer_key or not consumer_secret:
            raise ConfigError("Set the Daraja consumer key and consumer secret.")
        if not shortcode or not initiator_name or not security_credential:
            raise ConfigError(
                "Set the shortcode, the initiator name and the initiator password."
            )
        if not result_url or not timeout_url:
            raise ConfigError("Set the callback base URL (result and timeout URLs).")
        self.token_url = token_url
        self.payment_url = payment_url
        self.status_url = status_url
        self.consumer_key = consumer_key
        self._consumer_secret = _Secret(consumer_secret)
        self._credential = _Secret(security_credential)
        self.shortcode = str(shortcode)
        self.initiator_name = initiator_name
        self.command_id = command_id
        self.result_url = result_url
        self.timeout_url = timeout_url
        # Status results are not shaped like payment results: their own paths.
        self.status_result_url = status_result_url or result_url
        self.status_timeout_url = status_timeout_url or timeout_url
        if isinstance(timeout, tuple | list):
            self.timeout = (float(timeout[0]), float(timeout[1]))
        else:
            self.timeout = (float(timeout), float(timeout))
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            session.trust_env = False  # see SimpleMpesaClient._new_session
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 1))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session
        self.tokens = token_cache or shared_token_cache(token_url, consumer_key)

    def __repr__(self):
        return f"<DarajaClient shortcode={self.shortcode!r} url={self.payment_url!r}>"

    def close(self):
        if self._own_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the one place that talks HTTP ----------------------------------------
    def _make_request(self, method, url, *, token=None, payload=None):
        """(status, JSON body or None, response); raises requests exceptions."""
        headers = dict(JSON)
        if token is None:
            basic = f"{self.consumer_key}:{self._consumer_secret.reveal()}"
            headers["Authorization"] = "Basic " + base64.b64encode(
                basic.encode("utf-8")
            ).decode("ascii")
        else:
            headers["Authorization"] = "Bearer " + token
        response = self.session.request(
            method, url, json=payload, headers=headers, timeout=self.timeout
        )
        return response.status_code, answers.json_body(response), response

    # -- token -----------------------------------------------------------------
    def _fetch_token(self):
        try:
            status, body, response = self._make_request("GET", self.token_url)
        except requests.RequestException as exc:
            raise GatewayError(
                f"Could not reach the Daraja token endpoint {self.token_url}: "
                f"{type(exc).__name__}"
            ) from None
        if status in (400, 401, 403):
            raise AuthError(
                f"Daraja refused the consumer key {self.consumer_key[:4]}... "
                f"({status}: {daraja_message(body, response)}). Check the consumer "
                f"key and secret of the payment manager."
            )
        if status == 404:
            raise AuthError(
                f"The Daraja token endpoint {self.token_url} does not exist (404). "
                f"Check the Daraja base URL."
            )
        token = (body or {}).get("access_token") if status == 200 else None
        if not token or not isinstance(token, str):
            raise GatewayError(
                f"Unexpected answer from the Daraja token endpoint (HTTP {status}).",
                http_status=status,
            )
        try:
            ttl = float((body or {}).get("expires_in") or DARAJA_DEFAULT_TOKEN_TTL)
        except (TypeError, ValueError):
            ttl = DARAJA_DEFAULT_TOKEN_TTL
        _logger.info("Daraja token renewed for shortcode %s", self.shortcode)
        return token, ttl

    def token(self, stale=None, force=False):
        """Current token (AuthError / GatewayError when none can be had).

        ``force``: log in again whatever is cached (here and in the store).
        """
        return self.tokens.get(self._fetch_token, stale=stale, force=force)

    # -- requests ----------------------------------------------------------------
    def payment_body(self, ocid, amount, msisdn, remarks, occasion=""):
        return {
            "OriginatorConversationID": ocid,
            "InitiatorName": self.initiator_name,
            "SecurityCredential": self._credential.reveal(),
            "CommandID": self.command_id,
            "Amount": int(amount),
            "PartyA": self.shortcode,
            "PartyB": msisdn,
            "Remarks": remarks,
            "QueueTimeOutURL": self.timeout_url,
            "ResultURL": self.result_url,
            "Occassion": occasion or "",  # sic: Daraja's spelling
        }

    def status_body(self, ocid):
        # The payment's OCID under both names Daraja versions look it up by;
        # the query's own ids come back in the synchronous answer.
        return {
            "Initiator": self.initiator_name,
            "SecurityCredential": self._credential.reveal(),
            "CommandID": DARAJA_STATUS_COMMAND_ID,
            "TransactionID": "",
            "OriginalConversationID": ocid,
            "OriginatorConversationID": ocid,
            "PartyA": self.shortcode,
            "IdentifierType": DARAJA_IDENTIFIER_SHORTCODE,
            "ResultURL": self.status_result_url,
            "QueueTimeOutURL": self.status_timeout_url,
            "Remarks": "Transaction status",
            "Occasion": "",
        }

    def pay(self, ocid, amount, msisdn, remarks, occasion=""):
        """Send one payment request; the result arrives later on the ResultURL."""
        body = self.payment_body(ocid, amount, msisdn, remarks, occasion)
        return self._post(self.payment_url, body)

    def query_status(self, ocid):
        """Ask for the result of ``ocid``; answered later on the status result URL."""
        if not self.status_url:
            raise ConfigError("Set the Daraja transaction status URL.")
        return self._post(self.status_url, self.status_body(ocid))

    def _post(self, url, payload):
        start = time.perf_counter()

        def outcome(kind, status, message, sent, body=None, **extra):
            ms = (time.perf_counter() - start) * 1000.0
            return DarajaOutcome(kind, status, message, ms, sent, body, **extra)

        stale = None
        for attempt in (1, 2):
            try:
                token = self.token(stale)
            except AuthError as exc:
                return outcome(RETRYABLE, None, str(exc), False, systemic=True)
            except GatewayError as exc:
                return outcome(RETRYABLE, exc.http_status, str(exc), False)
            try:
                status, body, response = self._make_request(
                    "POST", url, token=token, payload=payload
                )
            except requests.ConnectTimeout:
                return outcome(RETRYABLE, None, "connect timeout (not sent)", False)
            except requests.ReadTimeout:
                return outcome(AMBIGUOUS, None, "no answer within the timeout", True)
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
            code = str((body or {}).get("errorCode") or "")
            if status == 401 or code == DARAJA_ERR_INVALID_TOKEN:
                # Another process may have renewed the token (invalidating
                # ours): renew once, unless a thread of ours already did.
                stale = token
                if attempt == 1:
                    continue
                return outcome(
                    RETRYABLE,
                    status,
                    f"token refused after renewal: {daraja_message(body, response)}",
                    False,
                    body,
                    systemic=True,
                    error_code=code or None,
                )
            return classify(status, body, daraja_message(body, response), outcome)
        raise AssertionError("unreachable")
