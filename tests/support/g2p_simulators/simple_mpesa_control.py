"""The simple-mpesa simulator's private control API (``/_sim/*``, JSON).

For tests driving an Odoo server in another process: they add faults, read
the deposit counts and balances, reset or reconfigure the simulator over
HTTP.  The routes are listed in the module docstring of ``simple_mpesa``.
"""

from .simple_mpesa_state import GatewayState


def control(state, method, path, fields):
    """The answer (status, body) of one control request; (404, None) if unknown."""
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
        return 200, configure(state, fields)
    if path == "/_sim/customers" and method == "POST":
        for spec in fields.get("customers", []):
            state.add_customer(*GatewayState._customer_spec(spec))
        return 200, state.snapshot()
    if path == "/_sim/agents" and method == "POST":
        for spec in fields.get("agents", []):
            state.add_agent(*GatewayState._agent_spec(spec))
        return 200, state.snapshot()
    return 404, None


# Settings of /_sim/config and how each is read from JSON.
CONFIG_SETTINGS = {
    "latency": float,
    "auto_register": bool,
    "token_ttl": float,
    "frozen": lambda accounts: set(accounts or ()),
    "racy": bool,
}


def configure(state, fields):
    """Apply the given settings; returns all of them as they are now."""
    with state.lock:
        for name, read in CONFIG_SETTINGS.items():
            if name in fields:
                setattr(state, name, read(fields[name]))
        current = {name: getattr(state, name) for name in CONFIG_SETTINGS}
        current["frozen"] = sorted(current["frozen"])
    return current
