"""The simple-mpesa gateway simulator in a process of its own.

Its threads then neither share the benchmark's GIL nor show in its memory.
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

SIMULATOR_PY = (
    Path(__file__).resolve().parents[1] / "g2p_simulators" / "simple_mpesa.py"
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator(port, agent, password, latency_ms=None, stderr=None):
    """Start it with one agent (funded with 10**12) and auto-registered payees;
    returns the Popen once ``/_sim/state`` answers."""
    import requests  # noqa: PLC0415 - a test requirement, not the simulator's

    cmd = [
        sys.executable,
        str(SIMULATOR_PY),
        "--port",
        str(port),
        "--agent",
        f"{agent}:{password}:{10**12}",
        "--auto-register",
    ]
    if latency_ms is not None:
        cmd += ["--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
    for _attempt in range(200):
        try:
            requests.get(f"http://127.0.0.1:{port}/_sim/state", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit("the simulator did not start")
