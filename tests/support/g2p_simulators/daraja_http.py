"""The Daraja simulator's HTTP side: routes, transport faults, the in-process server.

Every payment request is logged in the state's request log with how it was
answered (``daraja_codes.ANSWER_*``) and, when the state has a
``peer_tagger``, who sent it (resolved once per connection).
"""

import contextlib
import json
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from .daraja_codes import (
    ANSWER_ACCEPTED,
    ANSWER_BAD_REQUEST,
    ANSWER_DROPPED,
    ANSWER_DUPLICATE,
    ANSWER_ERROR,
    ANSWER_INVALID_TOKEN,
    ANSWER_RATE_LIMITED,
    BAD_REQUEST,
    CONTROL_PATH,
    INVALID_TOKEN,
    PAYMENT_PATH,
    RATE_CODES,
    SPIKE_ARREST,
    STATUS_PATH,
    TOKEN_PATH,
    error,
    status_of,
)
from .daraja_state import DarajaState
from .http_base import BackgroundServer, ThreadedServer


class _Drop(Exception):
    """Close the connection without an answer; ``answer`` is what was done."""

    def __init__(self, answer=ANSWER_DROPPED):
        super().__init__(answer)
        self.answer = answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "daraja-sim/1.0"
    timeout = 30
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        tagger = self.server.state.peer_tagger
        self.peer = None
        if tagger:
            # The client's socket exists while it waits on us: resolve it now.
            # A tagger's failure must not cost the request (peer stays None).
            with contextlib.suppress(Exception):
                self.peer = tagger(self.client_address)

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
        return self._send(404, error("404.001.01", "Resource not found"))

    def do_POST(self):  # noqa: N802
        state = self.server.state
        path = urlsplit(self.path).path
        body = self._body()
        try:
            if path == PAYMENT_PATH:
                return self._payment(state, body)
            if path == STATUS_PATH:
                if not state.authorised(self.headers.get("Authorization")):
                    return self._send(401, error(INVALID_TOKEN, "Invalid Access Token"))
                limited = state.rate_limit()
                if limited:
                    return self._send(*limited)
                if body is None:
                    return self._send(400, error(BAD_REQUEST, "Invalid JSON"))
                return self._send(*state.status_query(body))
            if path == CONTROL_PATH:
                return self._send(*control(state, body))
            return self._send(404, error("404.001.01", "Resource not found"))
        except _Drop:
            self._drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _payment(self, state, body):
        with state.lock:
            state.requests += 1
            seq = state.requests
            started = state.clock()
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        answer, status = ANSWER_DROPPED, None
        try:
            answer, status, reply = self._payment_answer(state, body, seq)
            return self._send(status, reply)
        except _Drop as drop:
            answer = drop.answer
            raise
        finally:
            state.log_request(seq, self.peer, body, answer, status, started)
            with state.lock:
                state.in_flight -= 1

    def _payment_answer(self, state, body, seq):
        """(answer label, HTTP status, body) of one payment request."""
        if state.latency:
            time.sleep(state.latency)
        msisdn = str((body or {}).get("PartyB") or "")
        # Every early fault aimed at this request fires (a burst and a
        # revoked token can hit the same one).
        for kind in ("latency", "rate_burst", "token_expiry"):
            early = state._take((kind,), seq, msisdn)
            if early and kind == "latency":
                time.sleep(early.delay)
            elif early and kind == "rate_burst":
                state.rate_burst(early.delay, code=early.code or SPIKE_ARREST)
            elif early:
                state.expire_token()
        if not state.authorised(self.headers.get("Authorization")):
            return (
                ANSWER_INVALID_TOKEN,
                401,
                error(INVALID_TOKEN, "Invalid Access Token"),
            )
        limited = state.rate_limit()
        if limited:
            return (ANSWER_RATE_LIMITED, *limited)
        problem = body is None and error(BAD_REQUEST, "Invalid JSON")
        problem = problem or state.validate_payment(body)
        if problem:
            return ANSWER_BAD_REQUEST, 400, problem
        # Transport faults hit requests that would otherwise be accepted.
        kinds = ("timeout_before", "timeout_after", "drop_after", "error")
        fault = state._take(kinds, seq, msisdn)
        kind = fault.kind if fault else None
        if kind == "timeout_before":
            time.sleep(fault.delay)
            raise _Drop
        if kind == "error" and not fault.apply:
            label = ANSWER_RATE_LIMITED if fault.code in RATE_CODES else ANSWER_ERROR
            return label, status_of(fault.code), error(fault.code, "Simulated error")
        status, reply = state.accept_payment(body, seq)
        label = ANSWER_ACCEPTED if status == 200 else ANSWER_DUPLICATE
        if kind == "error":
            # Applied, then answered with an error (logged as what was done).
            return label, status_of(fault.code), error(fault.code, "Simulated error")
        if kind == "drop_after":
            raise _Drop(label)
        if kind == "timeout_after":
            time.sleep(fault.delay)
        return label, status, reply


def control(state, body):
    """``POST /_sim/control`` for a simulator in another process (CLI)."""
    body = body or {}
    action = body.get("action")
    if action == "expire_token":
        state.expire_token()
    elif action == "rate_burst":
        state.rate_burst(
            float(body.get("seconds") or 1.0), token=body.get("token", True)
        )
    elif action == "fault":
        options = {k: v for k, v in body.items() if k not in ("action", "kind")}
        try:
            state.add_fault(body.get("kind"), **options)
        except (TypeError, ValueError) as exc:
            return 400, error(BAD_REQUEST, str(exc))
    elif action == "reset":
        state.reset()
    else:
        return 400, error(
            BAD_REQUEST, "action is one of expire_token, rate_burst, fault, reset"
        )
    return 200, {"ok": True, "action": action}


class _Server(ThreadedServer):
    # Bursts of parallel requests (8+ senders, several servers) must not be
    # refused by the listen backlog.
    request_queue_size = 128


class DarajaSimulator(BackgroundServer):
    """In-process Daraja; ``start()`` returns its base URL.  Options: DarajaState."""

    handler_class = _Handler
    server_class = _Server

    def __init__(self, **options):
        self.state = DarajaState(**options)
        super().__init__()

    def configure(self, httpd):
        httpd.state = self.state

    def __getattr__(self, name):
        # Everything else (faults, ledger, outbox, counters) is the state's.
        if name == "state":
            raise AttributeError(name)
        return getattr(self.state, name)

    @property
    def port(self):
        return self._httpd.server_address[1] if self._httpd else None

    @property
    def token_url(self):
        return self.base_url + TOKEN_PATH + "?grant_type=client_credentials"

    @property
    def payment_url(self):
        return self.base_url + PAYMENT_PATH

    @property
    def status_url(self):
        return self.base_url + STATUS_PATH
