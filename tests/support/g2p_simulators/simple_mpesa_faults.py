"""Faults the simple-mpesa simulator injects into deposits, and their answers.

``nth`` is the 1-based index of the deposit request, ``account`` its
accountNo, ``times`` how often the fault fires (None: always).  What each
kind does is in the module docstring of ``simple_mpesa``; the deposit route
there applies them.
"""

from .simple_mpesa_gateway import err

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


def fault_body(fault):
    """The error body of a ``status`` fault, as the gateway would word it."""
    if fault.status == 429:
        return err("too many requests", fault.message or "rate limited", 429)
    if fault.status == 503:
        return err("service unavailable", fault.message or "try again later", 503)
    return err("internal error", fault.message or "something went wrong", fault.status)
