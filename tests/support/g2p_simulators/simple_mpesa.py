"""A simple-mpesa compatible gateway simulator (stdlib only, no Odoo).

Serves the routes of ``SirWaithaka/simple-mpesa`` that the payment manager
uses, with the same bodies and status codes, plus fault injection so tests can
prove that nothing is paid twice.  It also runs as a script (or loaded by
path), the package's other modules found next to it::

    python tests/support/g2p_simulators/simple_mpesa.py --port 6700 \\
        --agent agent@example.com:secret:100000 --customer payee@example.com

This module holds the routes, the in-process server and the command line; the
rest is split by responsibility: ``simple_mpesa_state`` (accounts, tokens,
counters), ``simple_mpesa_gateway`` (what each route answers),
``simple_mpesa_faults``, ``simple_mpesa_control`` (``/_sim/*``) and
``http_base`` (HTTP plumbing shared with the other simulators).

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
import contextlib
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

if not __package__:
    # Run as a script, or loaded by path (setup/demo_data.py): reach the
    # sibling modules through their package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The parts of the simulator; the names tests and scripts import from here
# are re-exported.
from g2p_simulators.http_base import BackgroundServer, Drop, JsonHandler  # noqa: E402
from g2p_simulators.simple_mpesa_control import control  # noqa: E402
from g2p_simulators.simple_mpesa_faults import (  # noqa: E402
    DEFAULT_STALL,
    FAULT_KINDS,
    Fault,
    fault_body,
)
from g2p_simulators.simple_mpesa_gateway import (  # noqa: E402
    CUSTOMER_TYPES,
    DEFAULT_TOKEN_TTL,
    LOGIN_TYPES,
    MIN_DEPOSIT,
)
from g2p_simulators.simple_mpesa_state import GatewayState  # noqa: E402

__all__ = [
    "CUSTOMER_TYPES",
    "DEFAULT_TOKEN_TTL",
    "FAULT_KINDS",
    "LOGIN_TYPES",
    "MIN_DEPOSIT",
    "Fault",
    "GatewayState",
    "SimulatorServer",
    "main",
]


class _Handler(JsonHandler):
    """The routes.  Request handling stays in this module on purpose: the
    Mpesa benchmark tells the simulator's memory from ours by this file name
    in the allocation tracebacks (tests/bench/mpesa_odoo_report.py)."""

    server_version = "simple-mpesa-sim/1.0"

    @property
    def state(self):
        return self.server.state

    def _dispatch(self, method):
        path = urlsplit(self.path).path.rstrip("/")
        try:
            if path.startswith("/_sim/"):
                if not self.server.control:
                    return self.send_json(404, None)
                fields = self.read_fields() if method == "POST" else {}
                return self.send_json(*control(self.state, method, path, fields))
            fields = self.read_fields() if method in ("POST", "PUT") else {}
            if method == "POST" and path.startswith("/api/login/"):
                user_type = path.rsplit("/", 1)[1]
                return self.send_json(*self.state.login(user_type, fields))
            if method == "POST" and path == "/api/transaction/deposit":
                return self._deposit(fields)
            if method == "GET" and path in (
                "/api/account/balance",
                "/api/account/statement",
            ):
                return self._account(path)
            return self.send_json(404, None)
        except Drop:
            self.drop_connection()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")

    def _account(self, path):
        email, error = self.state.authenticate(self.headers.get("Authorization"))
        if error:
            return self.send_json(*error)
        if path.endswith("balance"):
            return self.send_json(*self.state.balance(email))
        return self.send_json(*self.state.statement(email))

    def _deposit(self, fields):
        """A deposit, with the fault (if any) that targets it applied."""
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
            return self.send_json(*error)
        parsed, error = state.validate_deposit(fields)
        if error:
            return self.send_json(*error)
        if kind == "drop_before":
            raise Drop
        if kind == "timeout_before":
            time.sleep(fault.delay if fault.delay is not None else DEFAULT_STALL)
            raise Drop
        if kind == "status" and not fault.apply:
            return self.send_json(fault.status, fault_body(fault))
        answer = state.apply_deposit(email, *parsed)
        if kind == "status":
            return self.send_json(fault.status, fault_body(fault))
        if kind == "drop_after":
            raise Drop
        if kind == "timeout_after":
            time.sleep(fault.delay if fault.delay is not None else DEFAULT_STALL)
        return self.send_json(*answer)


class SimulatorServer(BackgroundServer):
    """In-process simulator; ``start()`` returns the base URL.

    ``agents``: iterable of (email, password, balance) or {email: (password, balance)}.
    ``customers``: iterable of account | (account, type[, balance]) or
    {account: type}.
    """

    handler_class = _Handler

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
        super().__init__()
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

    def configure(self, httpd):
        httpd.state = self.state
        httpd.control = self.control
        httpd.verbose = self.verbose

    def serve_forever(self, host="127.0.0.1", port=6700):
        super().serve_forever(host, port)

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
