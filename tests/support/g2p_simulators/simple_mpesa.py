"""A simple-mpesa compatible gateway simulator (stdlib only, no Odoo).

Serves the routes of ``SirWaithaka/simple-mpesa`` that the payment manager
uses, with the same bodies and status codes, plus fault injection so tests can
prove that nothing is paid twice.  Self-contained so it also runs as a script::

    python tests/support/g2p_simulators/simple_mpesa.py --port 6700 \\
        --agent agent@example.com:secret:100000 --customer payee@example.com

Private control API (JSON), for tests driving an Odoo server in another process:

* ``POST /_sim/faults``   add one fault ``{"kind": ..., ...}`` or ``{"faults": [...]}``
* ``GET /_sim/faults``    list the active faults; ``DELETE /_sim/faults`` clears them
* ``GET /_sim/deposits``  ``{"counts": {account: n}, "deposits": [...], "requests": n}``
* ``GET /_sim/state``     balances of agents and customers
* ``POST /_sim/reset``    restore the initial balances, clear counts and faults
* ``POST /_sim/config``   ``{"latency": s, "auto_register": bool, "token_ttl": s,
  "frozen": [account, ...], "racy": bool}`` (racy: reproduce the gateway's
  lost balance updates under concurrent deposits by one agent)
* ``POST /_sim/customers`` ``{"customers": [{"account", "type", "balance"}]}``
* ``POST /_sim/agents``   ``{"agents": [{"email", "password", "balance"}]}``
* ``POST /_sim/expire_tokens`` every token issued so far becomes invalid

Fault kinds (all target deposits; ``nth`` = 1-based index of the deposit
request, ``account`` = accountNo, ``times`` = how often it fires, None = always):

* ``latency``        sleep ``delay`` s, then handle normally
* ``status``         answer ``status`` (default 500) without applying;
                     with ``apply: true`` apply first ("unexplained 5xx after debit")
* ``timeout_before`` stall ``delay`` s, then drop the connection; not applied
* ``timeout_after``  apply, then stall ``delay`` s before answering 200
* ``drop_before``    close the connection without applying
* ``drop_after``     apply, then close the connection without an answer
* ``token_expiry``   answer 401 "token has expired or is invalid" (not applied)
"""

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import socket
import struct
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DEFAULT_TOKEN_TTL = 6 * 3600
MIN_DEPOSIT = 10
CUSTOMER_TYPES = ("agent", "subscriber", "merchant")
LOGIN_TYPES = ("agent", "admin", "merchant", "subscriber")
FAULT_KINDS = (
    "latency",
    "status",
    "timeout_before",
    "timeout_after",
    "drop_before",
    "drop_after",
    "token_expiry",
)
DEFAULT_STALL = 1.0


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jwt_encode(claims, secret):
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    sig = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(sig)}"


def _jwt_decode(token, secret):
    try:
        header, payload, sig = token.split(".")
        expected = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256)
        if not hmac.compare_digest(_unb64(sig), expected.digest()):
            return None
        return json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None


class _Drop(Exception):
    """Close the connection without writing an answer."""


class Fault:
    def __init__(
        self,
        kind,
        nth=None,
        account=None,
        times=1,
        delay=None,
        status=None,
        apply=None,
        message=None,
    ):
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        self.kind = kind
        self.nth = int(nth) if nth is not None else None
        self.account = account
        self.times = int(times) if times is not None else None
        self.delay = float(delay) if delay is not None else None
        self.status = int(status) if status is not None else 500
        self.apply = bool(apply)
        self.message = message
        self.fired = 0

    def matches(self, seq, account):
        if self.times is not None and self.fired >= self.times:
            return False
        if self.nth is not None and self.nth != seq:
            return False
        if self.account is not None and self.account != account:
            return False
        return True

    def as_dict(self):
        return {
            "kind": self.kind,
            "nth": self.nth,
            "account": self.account,
            "times": self.times,
            "delay": self.delay,
            "status": self.status,
            "apply": self.apply,
            "fired": self.fired,
        }


class GatewayState:
    """Accounts, tokens, faults and counters; every mutation under one lock."""

    def __init__(
        self,
        agents=(),
        customers=(),
        latency=0.0,
        auto_register=False,
        token_ttl=DEFAULT_TOKEN_TTL,
        racy=False,
        secret=None,
        clock=time.time,
    ):
        self.lock = threading.RLock()
        self.secret = secret or secrets.token_bytes(32)
        self.latency = float(latency)
        self.auto_register = bool(auto_register)
        self.racy = bool(racy)
        self.token_ttl = float(token_ttl)
        self.clock = clock
        self.token_generation = 0
        self._initial_agents = [self._agent_spec(a) for a in _items(agents)]
        self._initial_customers = [self._customer_spec(c) for c in _items(customers)]
        self.reset()

    # -- setup -------------------------------------------------------------
    @staticmethod
    def _agent_spec(spec):
        if isinstance(spec, dict):
            return (spec["email"], spec["password"], int(spec.get("balance", 0)))
        email, password, *rest = spec
        return (email, password, int(rest[0]) if rest else 0)

    @staticmethod
    def _customer_spec(spec):
        if isinstance(spec, str):
            return (spec, "subscriber", 0)
        if isinstance(spec, dict):
            return (
                spec["account"],
                spec.get("type") or "subscriber",
                int(spec.get("balance", 0)),
            )
        account, *rest = spec
        ctype = rest[0] if rest else "subscriber"
        return (account, ctype, int(rest[1]) if len(rest) > 1 else 0)

    def reset(self):
        with self.lock:
            self.agents = {}
            self.customers = {}
            self.frozen = set()
            self.faults = []
            self.deposit_counts = {}
            self.deposits = []
            self.requests = 0
            self.transactions = {}
            for spec in self._initial_agents:
                self._add_agent(*spec)
            for spec in self._initial_customers:
                self._add_customer(*spec)

    def _add_agent(self, email, password, balance):
        user_id = str(uuid.uuid4())
        self.agents[email] = {
            "password": password,
            "balance": int(balance),
            "user_id": user_id,
        }

    def _add_customer(self, account, ctype, balance):
        if ctype not in CUSTOMER_TYPES:
            raise ValueError(f"unknown customer type {ctype!r}")
        self.customers[account] = {
            "type": ctype,
            "balance": int(balance),
            "user_id": str(uuid.uuid4()),
        }

    def add_agent(self, email, password, balance=0, initial=True):
        with self.lock:
            if initial:
                self._initial_agents.append((email, password, int(balance)))
            self._add_agent(email, password, balance)

    def add_customer(self, account, ctype="subscriber", balance=0, initial=True):
        with self.lock:
            if initial:
                self._initial_customers.append((account, ctype, int(balance)))
            self._add_customer(account, ctype, balance)

    # -- faults and counters -----------------------------------------------
    def add_fault(self, kind, **options):
        fault = Fault(kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def expire_tokens(self):
        with self.lock:
            self.token_generation += 1

    def _take_fault(self, seq, account):
        with self.lock:
            for fault in self.faults:
                if fault.matches(seq, account):
                    fault.fired += 1
                    return fault
        return None

    def counts(self):
        with self.lock:
            return dict(self.deposit_counts)

    def snapshot(self):
        with self.lock:
            return {
                "agents": {e: a["balance"] for e, a in self.agents.items()},
                "customers": {c: v["balance"] for c, v in self.customers.items()},
                "requests": self.requests,
                "deposits": len(self.deposits),
            }

    # -- gateway behaviour ---------------------------------------------------
    def login(self, user_type, fields):
        if user_type not in LOGIN_TYPES:
            return 404, None
        missing = [k for k in ("email", "password") if not fields.get(k)]
        if missing:
            return 400, [
                {
                    "error": "Validation Error",
                    "message": f"{k} is a required field",
                    "status": 400,
                }
                for k in missing
            ]
        with self.lock:
            agent = self.agents.get(fields["email"]) if user_type == "agent" else None
            if agent is None:
                return 400, _err("could not process request", "user not found", 400)
            if not hmac.compare_digest(
                str(agent["password"]).encode(), str(fields["password"]).encode()
            ):
                return 401, _err(
                    "unauthorized", "provided credentials are invalid", 401
                )
            now = self.clock()
            claims = {
                "userId": agent["user_id"],
                "userType": "agent",
                "iat": int(now),
                "exp": int(now + self.token_ttl),
                "gen": self.token_generation,
            }
            token = _jwt_encode(claims, self.secret)
            return 200, {
                "userId": agent["user_id"],
                "userType": "agent",
                "token": token,
            }

    def authenticate(self, header):
        """(agent email, None) or (None, error answer)."""
        if not header:
            return None, (
                401,
                _err("unauthorized", "authorization header not set", 401),
            )
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, (
                401,
                _err("unauthorized", "authentication token not set", 401),
            )
        claims = _jwt_decode(token.strip(), self.secret)
        expired = _err("unauthorized", "token has expired or is invalid", 401)
        with self.lock:
            if (
                not claims
                or claims.get("exp", 0) <= self.clock()
                or claims.get("gen") != self.token_generation
            ):
                return None, (401, expired)
            for email, agent in self.agents.items():
                if agent["user_id"] == claims.get("userId"):
                    return email, None
        return None, (401, expired)

    def next_request(self):
        with self.lock:
            self.requests += 1
            return self.requests

    def validate_deposit(self, fields):
        """(amount, account, ctype) or an error answer (nothing applied)."""
        missing = [
            k for k in ("amount", "accountNo", "customerType") if not fields.get(k)
        ]
        if missing:
            return None, (
                400,
                [
                    {
                        "error": "Validation Error",
                        "message": f"{k} is a required field",
                        "status": 400,
                    }
                    for k in missing
                ],
            )
        raw = str(fields["amount"]).strip()
        if not raw.isdigit():
            return None, (
                400,
                _err(
                    "could not process request",
                    "amount must be a whole positive number",
                    400,
                ),
            )
        ctype = str(fields["customerType"])
        if ctype not in CUSTOMER_TYPES:
            return None, (
                400,
                _err("could not process request", "customer type not allowed", 400),
            )
        return (int(raw), str(fields["accountNo"]), ctype), None

    def apply_deposit(self, agent_email, amount, account, ctype):
        """Apply one deposit; return the answer (status, body)."""
        with self.lock:
            if amount < MIN_DEPOSIT:
                return 500, _err(
                    "internal error",
                    f"cannot deposit amounts less than {MIN_DEPOSIT}",
                    500,
                )
            customer = self.customers.get(account)
            if customer is None and self.auto_register:
                self._add_customer(account, ctype, 0)
                customer = self.customers[account]
            if customer is None or customer["type"] != ctype:
                return 400, _err("could not process request", "user not found", 400)
            if account in self.frozen:
                return 500, _err(
                    "internal error", "couldn't access account. frozen", 500
                )
            agent = self.agents[agent_email]
            if agent["balance"] < amount:
                return 500, _err(
                    "internal error",
                    f"cannot debit amount, account balance not enough. "
                    f"Amount: {amount} Balance: {agent['balance']}",
                    500,
                )
            before = agent["balance"]
            if not self.racy:
                agent["balance"] = before - amount
        if self.racy:
            # simple-mpesa reads, computes and writes the agent balance without
            # a lock: concurrent deposits by one agent lose debits.
            time.sleep(0.002)
            with self.lock:
                agent["balance"] = before - amount
        with self.lock:
            customer["balance"] += amount
            self.deposit_counts[account] = self.deposit_counts.get(account, 0) + 1
            now = datetime.now(timezone.utc).isoformat()
            self.deposits.append(
                {"seq": len(self.deposits) + 1, "account": account, "amount": amount}
            )
            txs = self.transactions.setdefault(agent["user_id"], [])
            txs.append(
                {
                    "transactionId": str(uuid.uuid4()),
                    "transactionType": "DEPOSIT",
                    "createdAt": now,
                    "creditedAmount": 0,
                    "debitedAmount": amount,
                    "userId": agent["user_id"],
                    "accountId": agent["user_id"],
                }
            )
            del txs[:-5]
            return 200, {
                "status": "success",
                "message": "Success",
                "data": {
                    "message": "Transaction under processing. "
                    "You will receive a message shortly."
                },
            }

    def balance(self, agent_email):
        with self.lock:
            agent = self.agents[agent_email]
            return 200, {
                "status": "success",
                "message": f"Your current balance is {agent['balance']}",
                "data": {"userID": agent["user_id"], "balance": agent["balance"]},
            }

    def statement(self, agent_email):
        with self.lock:
            agent = self.agents[agent_email]
            txs = list(reversed(self.transactions.get(agent["user_id"], [])))
            return 200, {
                "status": "success",
                "message": "Mini statement retrieved for the past 5 transactions",
                "data": {"userID": agent["user_id"], "transactions": txs or None},
            }


def _items(value):
    if isinstance(value, dict):
        out = []
        for key, spec in value.items():
            if isinstance(spec, tuple | list):
                out.append((key, *spec))
            elif isinstance(spec, dict):
                out.append({**spec, "email": key, "account": key})
            elif spec is None:
                out.append((key,))
            else:
                out.append((key, spec))
        return out
    return list(value or ())


def _err(error, message, status):
    return {"error": error, "message": message, "status": status}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "simple-mpesa-sim/1.0"
    timeout = 30  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True

    @property
    def state(self):
        return self.server.state

    def log_message(self, format, *args):
        if self.server.verbose:
            return super().log_message(format, *args)
        return None

    # -- plumbing ------------------------------------------------------------
    def _read_fields(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if not raw:
            return {}
        if ctype == "application/json":
            try:
                data = json.loads(raw)
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {"_list": data}
        return {
            k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()
        }

    def _send(self, status, body):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        # Headers and body in one write: avoids a Nagle / delayed-ACK stall.
        self._headers_buffer.append(b"\r\n" + payload)
        self.flush_headers()

    def _drop(self):
        self.close_connection = True
        # Linger 0: the close resets the connection, as a crashed server would.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self, method):
        path = urlsplit(self.path).path.rstrip("/")
        try:
            if path.startswith("/_sim/"):
                if not self.server.control:
                    return self._send(404, None)
                return self._send(*self._control(method, path))
            fields = self._read_fields() if method in ("POST", "PUT") else {}
            if method == "POST" and path.startswith("/api/login/"):
                return self._send(*self.state.login(path.rsplit("/", 1)[1], fields))
            if method == "POST" and path == "/api/transaction/deposit":
                return self._deposit(fields)
            if method == "GET" and path in (
                "/api/account/balance",
                "/api/account/statement",
            ):
                email, error = self.state.authenticate(
                    self.headers.get("Authorization")
                )
                if error:
                    return self._send(*error)
                if path.endswith("balance"):
                    return self._send(*self.state.balance(email))
                return self._send(*self.state.statement(email))
            return self._send(404, None)
        except _Drop:
            self._drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")

    # -- deposit with faults -------------------------------------------------
    def _deposit(self, fields):
        state = self.state
        seq = state.next_request()
        if state.latency:
            time.sleep(state.latency)
        fault = state._take_fault(seq, fields.get("accountNo"))
        kind = fault.kind if fault else None
        if kind == "latency":
            time.sleep(fault.delay or 0.0)
        if kind == "token_expiry":
            state.expire_tokens()
        email, error = state.authenticate(self.headers.get("Authorization"))
        if error:
            return self._send(*error)
        parsed, error = state.validate_deposit(fields)
        if error:
            return self._send(*error)
        if kind == "drop_before":
            raise _Drop
        if kind == "timeout_before":
            time.sleep(fault.delay if fault.delay is not None else DEFAULT_STALL)
            raise _Drop
        if kind == "status" and not fault.apply:
            return self._send(fault.status, self._fault_body(fault))
        answer = state.apply_deposit(email, *parsed)
        if kind == "status":
            return self._send(fault.status, self._fault_body(fault))
        if kind == "drop_after":
            raise _Drop
        if kind == "timeout_after":
            time.sleep(fault.delay if fault.delay is not None else DEFAULT_STALL)
        return self._send(*answer)

    @staticmethod
    def _fault_body(fault):
        if fault.status == 429:
            return _err("too many requests", fault.message or "rate limited", 429)
        if fault.status == 503:
            return _err("service unavailable", fault.message or "try again later", 503)
        return _err(
            "internal error", fault.message or "something went wrong", fault.status
        )

    # -- control API -----------------------------------------------------------
    def _control(self, method, path):
        state = self.state
        fields = self._read_fields() if method == "POST" else {}
        if path == "/_sim/faults":
            if method == "DELETE":
                state.clear_faults()
            elif method == "POST":
                specs = fields.get("faults", [fields] if fields else [])
                try:
                    for spec in specs:
                        spec = dict(spec)
                        state.add_fault(spec.pop("kind", None), **spec)
                except (TypeError, ValueError) as exc:
                    return 400, {"error": str(exc)}
            with state.lock:
                return 200, {"faults": [f.as_dict() for f in state.faults]}
        if path == "/_sim/deposits" and method == "GET":
            with state.lock:
                return 200, {
                    "counts": dict(state.deposit_counts),
                    "deposits": list(state.deposits),
                    "requests": state.requests,
                }
        if path == "/_sim/state" and method == "GET":
            return 200, state.snapshot()
        if path == "/_sim/reset" and method == "POST":
            state.reset()
            return 200, state.snapshot()
        if path == "/_sim/expire_tokens" and method == "POST":
            state.expire_tokens()
            return 200, {"token_generation": state.token_generation}
        if path == "/_sim/config" and method == "POST":
            with state.lock:
                if "latency" in fields:
                    state.latency = float(fields["latency"])
                if "auto_register" in fields:
                    state.auto_register = bool(fields["auto_register"])
                if "token_ttl" in fields:
                    state.token_ttl = float(fields["token_ttl"])
                if "frozen" in fields:
                    state.frozen = set(fields["frozen"] or ())
                if "racy" in fields:
                    state.racy = bool(fields["racy"])
                return 200, {
                    "latency": state.latency,
                    "auto_register": state.auto_register,
                    "token_ttl": state.token_ttl,
                    "frozen": sorted(state.frozen),
                    "racy": state.racy,
                }
        if path == "/_sim/customers" and method == "POST":
            for spec in fields.get("customers", []):
                state.add_customer(*GatewayState._customer_spec(spec))
            return 200, state.snapshot()
        if path == "/_sim/agents" and method == "POST":
            for spec in fields.get("agents", []):
                state.add_agent(*GatewayState._agent_spec(spec))
            return 200, state.snapshot()
        return 404, None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class SimulatorServer:
    """In-process simulator; ``start()`` returns the base URL.

    ``agents``: iterable of (email, password, balance) or {email: (password, balance)}.
    ``customers``: iterable of account | (account, type[, balance]) or
    {account: type}.
    """

    def __init__(
        self,
        agents=(),
        customers=(),
        latency=0.0,
        auto_register=False,
        token_ttl=DEFAULT_TOKEN_TTL,
        racy=False,
        control=True,
        verbose=False,
        clock=time.time,
    ):
        self.state = GatewayState(
            agents=agents,
            customers=customers,
            latency=latency,
            auto_register=auto_register,
            token_ttl=token_ttl,
            racy=racy,
            clock=clock,
        )
        self.control = control
        self.verbose = verbose
        self._httpd = None
        self._thread = None
        self.base_url = None

    def start(self, host="127.0.0.1", port=0):
        httpd = _Server((host, port), _Handler)
        httpd.state = self.state
        httpd.control = self.control
        httpd.verbose = self.verbose
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        real_host, real_port = httpd.server_address[:2]
        self.base_url = f"http://{real_host}:{real_port}"
        return self.base_url

    def serve_forever(self, host="127.0.0.1", port=6700):
        httpd = _Server((host, port), _Handler)
        httpd.state = self.state
        httpd.control = self.control
        httpd.verbose = self.verbose
        self._httpd = httpd
        self.base_url = f"http://{host}:{httpd.server_address[1]}"
        try:
            httpd.serve_forever()
        finally:
            httpd.server_close()

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

    # -- URLs ------------------------------------------------------------------
    @property
    def auth_url(self):
        return self.base_url + "/api/login/agent"

    @property
    def payment_url(self):
        return self.base_url + "/api/transaction/deposit"

    # -- programmatic control ----------------------------------------------------
    def add_fault(self, kind, **options):
        return self.state.add_fault(kind, **options)

    def clear_faults(self):
        self.state.clear_faults()

    def expire_tokens(self):
        self.state.expire_tokens()

    def reset(self):
        self.state.reset()

    def add_customer(self, account, ctype="subscriber", balance=0):
        self.state.add_customer(account, ctype, balance)

    def add_agent(self, email, password, balance=0):
        self.state.add_agent(email, password, balance)

    def freeze(self, account):
        with self.state.lock:
            self.state.frozen.add(account)

    def deposit_count(self, account):
        return self.state.counts().get(account, 0)

    def deposit_counts(self):
        return self.state.counts()

    def balance_of(self, who):
        with self.state.lock:
            if who in self.state.agents:
                return self.state.agents[who]["balance"]
            return self.state.customers[who]["balance"]

    @property
    def requests(self):
        return self.state.requests


def _parse_agent(text):
    email, sep, rest = text.partition(":")
    password, sep2, balance = rest.rpartition(":")
    if not sep or not sep2 or not email or not password:
        raise argparse.ArgumentTypeError("expected EMAIL:PASSWORD:BALANCE")
    try:
        return (email, password, int(balance))
    except ValueError:
        raise argparse.ArgumentTypeError("BALANCE must be a whole number") from None


def _parse_customer(text):
    parts = text.split(":")
    if len(parts) > 3 or not parts[0]:
        raise argparse.ArgumentTypeError("expected ACCOUNT[:TYPE[:BALANCE]]")
    account = parts[0]
    ctype = parts[1] if len(parts) > 1 and parts[1] else "subscriber"
    if ctype not in CUSTOMER_TYPES:
        raise argparse.ArgumentTypeError(f"TYPE must be one of {CUSTOMER_TYPES}")
    return (account, ctype, int(parts[2]) if len(parts) > 2 else 0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6700)
    parser.add_argument("--agent", action="append", type=_parse_agent, default=[])
    parser.add_argument("--customer", action="append", type=_parse_customer, default=[])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--auto-register",
        action="store_true",
        help="accept deposits to unknown accounts by registering them (demo)",
    )
    parser.add_argument("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL)
    parser.add_argument(
        "--racy",
        action="store_true",
        help="lose agent balance updates under concurrent deposits, like the real one",
    )
    parser.add_argument("--no-control", action="store_true", help="disable /_sim/*")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    sim = SimulatorServer(
        agents=args.agent,
        customers=args.customer,
        latency=args.latency_ms / 1000.0,
        auto_register=args.auto_register,
        token_ttl=args.token_ttl,
        racy=args.racy,
        control=not args.no_control,
        verbose=args.verbose,
    )
    sys.stdout.write(
        f"simple-mpesa simulator on http://{args.host}:{args.port} "
        f"({len(args.agent)} agents, {len(args.customer)} customers)\n"
    )
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        sim.serve_forever(args.host, args.port)


if __name__ == "__main__":
    main()
