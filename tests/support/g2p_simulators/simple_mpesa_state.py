"""The simple-mpesa simulator's state: accounts, tokens, faults and counters.

One ``GatewayState`` per simulator, shared by its request threads; every
mutation happens under its one lock.  What the gateway answers from this
state is ``GatewayAnswers`` (``simple_mpesa_gateway``).
"""

import secrets
import threading
import time
import uuid

from .simple_mpesa_faults import Fault
from .simple_mpesa_gateway import CUSTOMER_TYPES, DEFAULT_TOKEN_TTL, GatewayAnswers


class GatewayState(GatewayAnswers):
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
