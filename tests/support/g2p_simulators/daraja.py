"""A Safaricom Daraja B2C simulator (dev/test only; never shipped in an addon).

Plays the gateway's side of the wire with its own copies of every code:

* ``GET /oauth/v1/generate?grant_type=client_credentials`` (Basic auth) -> a
  token; a new token invalidates the previous one.
* ``POST /mpesa/b2c/v3/paymentrequest`` -> sync accept, or an error
  ``{"requestId", "errorCode", "errorMessage"}``; a repeated
  OriginatorConversationID is rejected with 500.002.1001 and changes nothing.
  The result is POSTed later to the ResultURL (or a QueueTimeOut to the
  QueueTimeOutURL), after ``callback_delay`` s, with configurable loss and
  duplication.
* ``POST /mpesa/transactionstatus/v1/query`` by OriginalConversationID or
  TransactionID -> sync ack, then the transaction's result POSTed to the
  query's ResultURL (this simulator's convention: the same body as the
  payment's result).  An unknown id is refused synchronously (400.002.02).
* Rate limits: ``spike_limit`` requests per ``spike_window`` s (500.003.02) and
  ``quota`` requests per ``quota_window`` s (500.003.03), both HTTP 429.
* Business results: 1 insufficient funds, 2 below minimum, 3 above maximum,
  4 daily limit, 8 max customer balance, 2001 invalid initiator (the
  SecurityCredential is decrypted with the simulator's private key and
  compared with the initiator password), 2040 unregistered customer, 8006
  credential locked (after ``lock_after`` wrong credentials).
* A per-MSISDN ledger of deposits (``deposit_counts``) to prove exactly-once.

As a script (benchmarks, demos): ``python daraja.py --port 6800
[--latency-ms 20] [--delivery outbox]``; ``GET /_sim/ledger`` and
``GET /_sim/certificate`` read it.

Callbacks go over HTTP (``delivery="http"``) or into an outbox that a test
drains with ``take_callbacks()`` (``delivery="outbox"``: Odoo TransactionCase
tests post them through the FastAPI test client).

Faults (``add_fault(kind, nth=, msisdn=, times=1, ...)``; ``nth`` counts
payment requests from 1): ``latency`` (sleep ``delay``), ``timeout_after``
(accept, then stall ``delay`` s before answering), ``timeout_before`` (stall,
drop, nothing accepted), ``drop_after`` (accept, drop the connection),
``error`` (answer ``code``: 400.002.02, 500.003.02, 500.003.03, 500.003.1001;
``apply=True`` accepts first), ``token_expiry`` (the current token stops
working), ``result_code`` (the result carries failure ``code``),
``queue_timeout`` (a QueueTimeOut instead of the result; still processed),
``lose_callback``, ``duplicate_callback``.
"""

import argparse
import base64
import contextlib
import datetime
import hmac
import json
import random
import secrets
import socket
import struct
import threading
import time
import urllib.request
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOKEN_PATH = "/oauth/v1/generate"
PAYMENT_PATH = "/mpesa/b2c/v3/paymentrequest"
STATUS_PATH = "/mpesa/transactionstatus/v1/query"
TOKEN_TTL = 3599
COMMAND_IDS = ("BusinessPayment", "SalaryPayment", "PromotionPayment")
STATUS_COMMAND = "TransactionStatusQuery"
MIN_AMOUNT, MAX_AMOUNT = 10, 250000
BAD_REQUEST = "400.002.02"
INVALID_TOKEN = "401.002.01"
DUPLICATE = "500.002.1001"
SPIKE_ARREST = "500.003.02"
QUOTA = "500.003.03"
INTERNAL = "500.003.1001"
ERROR_CODES = (BAD_REQUEST, SPIKE_ARREST, QUOTA, INTERNAL)
RESULT_CODES = {
    0: "The service request is processed successfully.",
    1: "The balance is insufficient for the transaction.",
    2: "Declined due to limit rule: less than the minimum transaction amount.",
    3: "Declined due to limit rule: greater than the maximum transaction amount.",
    4: "Declined due to limit rule: would exceed daily transfer limit.",
    8: "Declined due to limit rule: would exceed the maximum balance.",
    2001: "The initiator information is invalid.",
    2040: "Credit Party customer type (Unregistered or Registered Customer) "
    "can't be supported by the service.",
    8006: "The security credential is locked.",
}
FAULT_KINDS = (
    "latency",
    "timeout_after",
    "timeout_before",
    "drop_after",
    "error",
    "token_expiry",
    "result_code",
    "queue_timeout",
    "lose_callback",
    "duplicate_callback",
)
PAYMENT_FIELDS = (
    "OriginatorConversationID",
    "InitiatorName",
    "SecurityCredential",
    "CommandID",
    "Amount",
    "PartyA",
    "PartyB",
    "Remarks",
    "QueueTimeOutURL",
    "ResultURL",
)
STATUS_FIELDS = (
    "Initiator",
    "SecurityCredential",
    "CommandID",
    "PartyA",
    "ResultURL",
    "QueueTimeOutURL",
)


def make_certificate(common_name="M-Pesa simulator"):
    """(private key, self-signed certificate) standing in for Safaricom's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _error(code, message):
    return {
        "requestId": uuid.uuid4().hex[:20],
        "errorCode": code,
        "errorMessage": message,
    }


def _status_of(code):
    return 429 if code in (SPIKE_ARREST, QUOTA) else int(code.split(".")[0])


class Fault:
    def __init__(
        self, kind, nth=None, msisdn=None, times=1, delay=None, code=None, apply=None
    ):
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        if kind == "error" and code not in ERROR_CODES:
            raise ValueError(f"error faults need code in {ERROR_CODES}")
        if kind == "result_code" and int(code or 0) not in RESULT_CODES:
            raise ValueError(f"result_code faults need code in {sorted(RESULT_CODES)}")
        self.kind = kind
        self.nth = None if nth is None else int(nth)
        self.msisdn = msisdn
        self.times = None if times is None else int(times)
        self.delay = 1.0 if delay is None else float(delay)
        self.code = code
        self.apply = bool(apply)
        self.fired = 0

    def matches(self, seq, msisdn):
        if self.times is not None and self.fired >= self.times:
            return False
        if self.nth is not None and self.nth != seq:
            return False
        return self.msisdn is None or self.msisdn == msisdn


class _Drop(Exception):
    pass


class DarajaState:
    """Accounts, token, transactions, faults and the ledger (one lock)."""

    def __init__(
        self,
        consumer_key="sim-key",
        consumer_secret="sim-secret",
        shortcode="600000",
        initiator_name="sim-initiator",
        initiator_password="Sim-Initiator-Pass1",
        balance=10_000_000,
        latency=0.0,
        callback_delay=0.0,
        loss=0.0,
        duplicate=0.0,
        delivery="http",
        registered=None,
        daily_limit=None,
        max_customer_balance=None,
        lock_after=3,
        spike_limit=None,
        spike_window=1.0,
        quota=None,
        quota_window=60.0,
        token_ttl=TOKEN_TTL,
        seed=None,
        clock=time.time,
    ):
        self.lock = threading.RLock()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.shortcode = str(shortcode)
        self.initiator_name = initiator_name
        self.initiator_password = initiator_password
        self.initial_balance = int(balance)
        self.latency = float(latency)
        self.callback_delay = float(callback_delay)
        self.loss = float(loss)
        self.duplicate = float(duplicate)
        if delivery not in ("http", "outbox"):
            raise ValueError("delivery is 'http' or 'outbox'")
        self.delivery = delivery
        self.registered = None if registered is None else set(registered)
        self.daily_limit = daily_limit
        self.max_customer_balance = max_customer_balance
        self.lock_after = int(lock_after)
        self.spike_limit = spike_limit
        self.spike_window = float(spike_window)
        self.quota = quota
        self.quota_window = float(quota_window)
        self.token_ttl = float(token_ttl)
        self.clock = clock
        self.random = random.Random(seed)
        self.private_key, self.certificate = make_certificate()
        self.reset()

    # -- setup / inspection ------------------------------------------------------
    def reset(self):
        with self.lock:
            self.balance = self.initial_balance
            self.token = None
            self.token_expires = 0.0
            self.tokens_issued = 0
            self.transactions = {}
            self.by_receipt = {}
            self.deposit_counts = {}
            self.customer_balances = {}
            self.faults = []
            self.requests = 0
            self.status_queries = 0
            self.duplicates = 0
            self.rate_limited = 0
            self.in_flight = 0
            self.peak_in_flight = 0
            self.wrong_credentials = 0
            self.outbox = []
            self.callbacks_sent = 0  # answered 2xx
            self.callbacks_failed = 0  # refused or not answered
            self.callbacks_duplicated = 0  # extra copies decided
            self.callbacks_lost = 0
            self._recent = deque()

    @property
    def certificate_pem(self):
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate_der(self):
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def credential_for(self, password=None):
        """A valid SecurityCredential (as a client computes it)."""
        secret = (password or self.initiator_password).encode()
        data = self.certificate.public_key().encrypt(secret, padding.PKCS1v15())
        return base64.b64encode(data).decode()

    def decrypt_credential(self, credential):
        """The password inside a SecurityCredential, or None."""
        try:
            raw = base64.b64decode(credential, validate=True)
            return self.private_key.decrypt(raw, padding.PKCS1v15()).decode()
        except (ValueError, TypeError):
            return None

    def add_fault(self, kind, **options):
        fault = Fault(kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def _take(self, kinds, seq, msisdn):
        with self.lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.matches(seq, msisdn):
                    fault.fired += 1
                    return fault
        return None

    def expire_token(self):
        with self.lock:
            self.token = None

    def ledger(self):
        with self.lock:
            return dict(self.deposit_counts)

    def take_callbacks(self):
        with self.lock:
            out, self.outbox = self.outbox, []
            return out

    # -- token ---------------------------------------------------------------------
    def issue_token(self, authorization, query):
        if parse_qs(query).get("grant_type") != ["client_credentials"]:
            return 400, _error(BAD_REQUEST, "Invalid grant type passed")
        scheme, _sep, value = (authorization or "").partition(" ")
        try:
            key, _sep, secret = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            key = secret = ""
        ok = scheme.lower() == "basic" and hmac.compare_digest(
            f"{key}:{secret}", f"{self.consumer_key}:{self.consumer_secret}"
        )
        if not ok:
            return 400, _error(BAD_REQUEST, "Invalid Authentication passed")
        with self.lock:
            # One valid token per consumer key: a new one replaces the old.
            self.token = secrets.token_urlsafe(24)
            self.token_expires = self.clock() + self.token_ttl
            self.tokens_issued += 1
            return 200, {
                "access_token": self.token,
                "expires_in": str(int(self.token_ttl)),
            }

    def authorised(self, authorization):
        scheme, _sep, token = (authorization or "").partition(" ")
        with self.lock:
            return (
                scheme.lower() == "bearer"
                and self.token is not None
                and hmac.compare_digest(token.strip(), self.token)
                and self.clock() < self.token_expires
            )

    def rate_limit(self):
        """An error answer when a limit is exceeded (the request counts anyway)."""
        if self.spike_limit is None and self.quota is None:
            return None
        with self.lock:
            now = self.clock()
            self._recent.append(now)
            horizon = now - max(self.spike_window, self.quota_window)
            while self._recent and self._recent[0] < horizon:
                self._recent.popleft()
            if self.spike_limit is not None:
                recent = sum(1 for t in self._recent if t > now - self.spike_window)
                if recent > self.spike_limit:
                    self.rate_limited += 1
                    return _status_of(SPIKE_ARREST), _error(
                        SPIKE_ARREST, "Spike arrest violation"
                    )
            if self.quota is not None:
                recent = sum(1 for t in self._recent if t > now - self.quota_window)
                if recent > self.quota:
                    self.rate_limited += 1
                    return _status_of(QUOTA), _error(QUOTA, "Quota violation")
        return None

    # -- payment -------------------------------------------------------------------
    def validate_payment(self, body):
        missing = [k for k in PAYMENT_FIELDS if body.get(k) in (None, "")]
        if missing:
            return _error(
                BAD_REQUEST, f"Invalid request: {', '.join(missing)} required"
            )
        if body["CommandID"] not in COMMAND_IDS:
            return _error(BAD_REQUEST, "Invalid CommandID")
        if str(body["PartyA"]) != self.shortcode:
            return _error(BAD_REQUEST, "Invalid PartyA")
        msisdn = str(body["PartyB"])
        if not (
            len(msisdn) == 12 and msisdn.isdigit() and msisdn[:4] in ("2547", "2541")
        ):
            return _error(BAD_REQUEST, "Invalid PartyB")
        if (
            not isinstance(body["Amount"], int | str)
            or not str(body["Amount"]).isdigit()
        ):
            return _error(BAD_REQUEST, "Invalid Amount")
        if not 2 <= len(str(body["Remarks"])) <= 100:
            return _error(BAD_REQUEST, "Invalid Remarks")
        return None

    def _credential_code(self, initiator, credential):
        """0, 2001 (wrong) or 8006 (locked); counts wrong attempts."""
        with self.lock:
            if self.wrong_credentials >= self.lock_after:
                return 8006
            password = self.decrypt_credential(credential)
            if initiator == self.initiator_name and password == self.initiator_password:
                return 0
            self.wrong_credentials += 1
            return 2001

    def accept_payment(self, body, seq):
        """Record, process and schedule the result; return the sync answer."""
        ocid = str(body["OriginatorConversationID"])
        msisdn = str(body["PartyB"])
        amount = int(body["Amount"])
        with self.lock:
            if ocid in self.transactions:
                self.duplicates += 1
                return 500, _error(DUPLICATE, "Duplicate OriginatorConversationID.")
            code = self._credential_code(
                body["InitiatorName"], body["SecurityCredential"]
            )
            fault = self._take(("result_code",), seq, msisdn)
            if code == 0 and fault is not None:
                code = int(fault.code)
            if code == 0:
                code = self._business_code(msisdn, amount)
            tx = {
                "ocid": ocid,
                "conversation_id": f"AG_{uuid.uuid4().hex[:20].upper()}",
                "transaction_id": secrets.token_hex(5).upper(),
                "msisdn": msisdn,
                "amount": amount,
                "code": code,
                "result_url": body["ResultURL"],
                "timeout_url": body["QueueTimeOutURL"],
            }
            if code == 0:
                self.balance -= amount
                self.customer_balances[msisdn] = (
                    self.customer_balances.get(msisdn, 0) + amount
                )
                self.deposit_counts[msisdn] = self.deposit_counts.get(msisdn, 0) + 1
            self.transactions[ocid] = tx
            self.by_receipt[tx["transaction_id"]] = tx
        if self._take(("queue_timeout",), seq, msisdn):
            self.deliver(tx["timeout_url"], self.timeout_body(tx))
        elif not self._take(("lose_callback",), seq, msisdn):
            copies = 2 if self._take(("duplicate_callback",), seq, msisdn) else 1
            for _copy in range(copies):
                self.deliver(tx["result_url"], self.result_body(tx))
        else:
            with self.lock:
                self.callbacks_lost += 1
        return 200, {
            "ConversationID": tx["conversation_id"],
            "OriginatorConversationID": ocid,
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        }

    def _business_code(self, msisdn, amount):
        if amount < MIN_AMOUNT:
            return 2
        if amount > MAX_AMOUNT:
            return 3
        if self.registered is not None and msisdn not in self.registered:
            return 2040
        paid = self.customer_balances.get(msisdn, 0)
        if self.daily_limit is not None and paid + amount > self.daily_limit:
            return 4
        if (
            self.max_customer_balance is not None
            and paid + amount > self.max_customer_balance
        ):
            return 8
        if self.balance < amount:
            return 1
        return 0

    def result_body(self, tx):
        result = {
            "ResultType": 0,
            "ResultCode": tx["code"],
            "ResultDesc": RESULT_CODES[tx["code"]],
            "OriginatorConversationID": tx["ocid"],
            "ConversationID": tx["conversation_id"],
            "TransactionID": tx["transaction_id"],
        }
        if tx["code"] == 0:
            when = datetime.datetime.now().strftime("%d.%m.%Y %H:%M:%S")
            result["ResultParameters"] = {
                "ResultParameter": [
                    {"Key": "TransactionAmount", "Value": tx["amount"]},
                    {"Key": "TransactionReceipt", "Value": tx["transaction_id"]},
                    {
                        "Key": "ReceiverPartyPublicName",
                        "Value": f"{tx['msisdn']} - Sim Customer",
                    },
                    {"Key": "TransactionCompletedDateTime", "Value": when},
                    {"Key": "B2CUtilityAccountAvailableFunds", "Value": self.balance},
                ]
            }
        return {"Result": result}

    @staticmethod
    def timeout_body(tx):
        return {
            "Result": {
                "ResultType": 1,
                "ResultCode": 1,
                "ResultDesc": "The service request timed out in the queue.",
                "OriginatorConversationID": tx["ocid"],
                "ConversationID": tx["conversation_id"],
                "TransactionID": "",
            }
        }

    # -- status query ----------------------------------------------------------------
    def status_query(self, body):
        missing = [k for k in STATUS_FIELDS if body.get(k) in (None, "")]
        if missing or body.get("CommandID") != STATUS_COMMAND:
            return 400, _error(
                BAD_REQUEST, f"Invalid request: {', '.join(missing) or 'CommandID'}"
            )
        with self.lock:
            self.status_queries += 1
            tx = self.transactions.get(str(body.get("OriginalConversationID") or ""))
            tx = tx or self.by_receipt.get(str(body.get("TransactionID") or ""))
            code = self._credential_code(body["Initiator"], body["SecurityCredential"])
        if tx is None:
            return 400, _error(
                BAD_REQUEST, "Invalid OriginalConversationID / TransactionID"
            )
        if code:
            answer = {
                "Result": dict(
                    self.result_body(tx)["Result"],
                    ResultCode=code,
                    ResultDesc=RESULT_CODES[code],
                )
            }
            answer["Result"].pop("ResultParameters", None)
        else:
            answer = self.result_body(tx)
        self.deliver(body["ResultURL"], answer)
        return 200, {
            "ConversationID": f"AG_{uuid.uuid4().hex[:20].upper()}",
            "OriginatorConversationID": str(
                body.get("OriginatorConversationID") or uuid.uuid4()
            ),
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        }

    # -- callbacks -------------------------------------------------------------------
    def deliver(self, url, body):
        with self.lock:
            if self.loss and self.random.random() < self.loss:
                self.callbacks_lost += 1
                return
            copies = (
                2 if self.duplicate and self.random.random() < self.duplicate else 1
            )
            self.callbacks_duplicated += copies - 1
            if self.delivery == "outbox":
                self.outbox.extend([(url, body)] * copies)
                return
        for _copy in range(copies):
            timer = threading.Timer(self.callback_delay, self._post, (url, body))
            timer.daemon = True
            timer.start()

    def _post(self, url, body):
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except OSError:
            with self.lock:
                self.callbacks_failed += 1
            return
        with self.lock:
            self.callbacks_sent += 1

    def callbacks_done(self):
        """Posts finished (answered or not) out of those decided so far."""
        with self.lock:
            return self.callbacks_sent + self.callbacks_failed


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "daraja-sim/1.0"
    timeout = 30
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        return None

    def _send(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self._headers_buffer.append(b"\r\n" + payload)
        self.flush_headers()

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _drop(self):
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self):  # noqa: N802 - stdlib naming
        state = self.server.state
        url = urlsplit(self.path)
        if url.path == TOKEN_PATH:
            return self._send(
                *state.issue_token(self.headers.get("Authorization"), url.query)
            )
        if url.path == "/_sim/certificate":
            return self._send(200, {"pem": state.certificate_pem.decode()})
        if url.path == "/_sim/ledger":
            return self._send(
                200, {"counts": state.ledger(), "requests": state.requests}
            )
        return self._send(404, _error("404.001.01", "Resource not found"))

    def do_POST(self):  # noqa: N802
        state = self.server.state
        path = urlsplit(self.path).path
        body = self._body()
        try:
            if path == PAYMENT_PATH:
                return self._payment(state, body)
            if path == STATUS_PATH:
                if not state.authorised(self.headers.get("Authorization")):
                    return self._send(
                        401, _error(INVALID_TOKEN, "Invalid Access Token")
                    )
                limited = state.rate_limit()
                if limited:
                    return self._send(*limited)
                if body is None:
                    return self._send(400, _error(BAD_REQUEST, "Invalid JSON"))
                return self._send(*state.status_query(body))
            return self._send(404, _error("404.001.01", "Resource not found"))
        except _Drop:
            self._drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _payment(self, state, body):
        with state.lock:
            state.requests += 1
            seq = state.requests
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        try:
            if state.latency:
                time.sleep(state.latency)
            msisdn = str((body or {}).get("PartyB") or "")
            early = state._take(("latency", "token_expiry"), seq, msisdn)
            if early and early.kind == "latency":
                time.sleep(early.delay)
            if early and early.kind == "token_expiry":
                state.expire_token()
            if not state.authorised(self.headers.get("Authorization")):
                return self._send(401, _error(INVALID_TOKEN, "Invalid Access Token"))
            limited = state.rate_limit()
            if limited:
                return self._send(*limited)
            problem = self._invalid(state, body)
            if problem:
                return self._send(400, problem)
            # Transport faults hit requests that would otherwise be accepted.
            kinds = ("timeout_before", "timeout_after", "drop_after", "error")
            fault = state._take(kinds, seq, msisdn)
            kind = fault.kind if fault else None
            if kind == "timeout_before":
                time.sleep(fault.delay)
                raise _Drop
            if kind == "error" and not fault.apply:
                return self._send(
                    _status_of(fault.code), _error(fault.code, "Simulated error")
                )
            answer = state.accept_payment(body, seq)
            if kind == "error":
                return self._send(
                    _status_of(fault.code), _error(fault.code, "Simulated error")
                )
            if kind == "drop_after":
                raise _Drop
            if kind == "timeout_after":
                time.sleep(fault.delay)
            return self._send(*answer)
        finally:
            with state.lock:
                state.in_flight -= 1

    @staticmethod
    def _invalid(state, body):
        if body is None:
            return _error(BAD_REQUEST, "Invalid JSON")
        return state.validate_payment(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class DarajaSimulator:
    """In-process Daraja; ``start()`` returns its base URL.  Options: DarajaState."""

    def __init__(self, **options):
        self.state = DarajaState(**options)
        self._httpd = None
        self._thread = None
        self.base_url = None

    def start(self, host="127.0.0.1", port=0):
        self._httpd = _Server((host, port), _Handler)
        self._httpd.state = self.state
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            daemon=True,
        )
        self._thread.start()
        real_host, real_port = self._httpd.server_address[:2]
        self.base_url = f"http://{real_host}:{real_port}"
        return self.base_url

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        if self._httpd is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __getattr__(self, name):
        # Everything else (faults, ledger, outbox, counters) is the state's.
        if name == "state":
            raise AttributeError(name)
        return getattr(self.state, name)

    @property
    def token_url(self):
        return self.base_url + TOKEN_PATH + "?grant_type=client_credentials"

    @property
    def payment_url(self):
        return self.base_url + PAYMENT_PATH

    @property
    def status_url(self):
        return self.base_url + STATUS_PATH


def main(argv=None):
    parser = argparse.ArgumentParser(description="Daraja B2C simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6800)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--delivery", choices=("http", "outbox"), default="http")
    args = parser.parse_args(argv)
    sim = DarajaSimulator(latency=args.latency_ms / 1000.0, delivery=args.delivery)
    print(sim.start(args.host, args.port), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
