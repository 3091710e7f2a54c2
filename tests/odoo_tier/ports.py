"""Free loopback ports for the Odoo servers the Odoo tier starts."""

import os
import secrets
import socket


def free_port():
    """A free TCP port on 127.0.0.1; G2P_PORT_RANGE=lo-hi restricts it."""
    rng = os.environ.get("G2P_PORT_RANGE")
    candidates = [0]
    if rng:
        lo, hi = (int(x) for x in rng.split("-"))
        candidates = list(range(lo, hi + 1))
        secrets.SystemRandom().shuffle(candidates)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in G2P_PORT_RANGE={rng}")
