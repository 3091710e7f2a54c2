"""The Daraja simulator in a process of its own, its results kept in its outbox.

Run as ``python daraja_process.py --port P --control-port C [--latency-ms L]``:
``g2p_simulators.daraja.DarajaSimulator`` answers Daraja's API on P and keeps
the Result / QueueTimeOut callbacks it would post in its outbox; a small
control server on C hands out what a benchmark needs:

* ``GET /config``: the URLs, credentials and certificate a manager needs;
* ``POST /callbacks``: the callbacks decided since the last call, each once,
  as ``[[url, body], ...]``;
* ``GET /ledger``: deposits per MSISDN; ``GET /stats``: its counters.

In a process of its own, its threads do not share the benchmark's GIL and
its records (one per transaction) are not in the benchmark's memory.
``DarajaProcess`` starts it and talks to it.
"""

import argparse
import contextlib
import json
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SUPPORT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SUPPORT))
from g2p_bench.procmem import rss_mib  # noqa: E402

STATS = (
    "requests",
    "duplicates",
    "peak_in_flight",
    "status_queries",
    "rate_limited",
    "tokens_issued",
    "callbacks_duplicated",
    "callbacks_lost",
)


def _config(sim):
    return {
        "token_url": sim.token_url,
        "payment_url": sim.payment_url,
        "status_url": sim.status_url,
        "consumer_key": sim.consumer_key,
        "consumer_secret": sim.consumer_secret,
        "shortcode": sim.shortcode,
        "initiator_name": sim.initiator_name,
        "initiator_password": sim.initiator_password,
        "certificate_pem": sim.certificate_pem.decode("ascii"),
    }


def _control_handler(sim):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - stdlib signature
            return None

        def _send(self, data):
            payload = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # noqa: N802 - stdlib naming
            if self.path == "/config":
                return self._send(_config(sim))
            if self.path == "/ledger":
                return self._send(sim.ledger())
            if self.path == "/stats":
                return self._send({k: getattr(sim, k, None) for k in STATS})
            self.send_error(404)
            return None

        def do_POST(self):  # noqa: N802
            if self.path == "/callbacks":
                return self._send([list(c) for c in sim.take_callbacks()])
            self.send_error(404)
            return None

    return Handler


def serve(port, control_port, latency_ms):
    from g2p_simulators.daraja import DarajaSimulator  # noqa: PLC0415

    sim = DarajaSimulator(latency=latency_ms / 1000.0, delivery="outbox")
    sim.start("127.0.0.1", port)
    control = ThreadingHTTPServer(("127.0.0.1", control_port), _control_handler(sim))
    with contextlib.suppress(KeyboardInterrupt):
        control.serve_forever(poll_interval=0.05)


class DarajaProcess:
    """Start the simulator process and read it (``requests`` is a test need)."""

    def __init__(self, port, control_port, latency_ms=0.0):
        import requests  # noqa: PLC0415

        self.requests = requests
        self.control = f"http://127.0.0.1:{control_port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--port",
                str(port),
                "--control-port",
                str(control_port),
                "--latency-ms",
                str(latency_ms),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _attempt in range(400):
            try:
                self.config = self._get("/config")
                return
            except requests.ConnectionError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.proc.kill()
        raise SystemExit("the Daraja simulator did not start")

    def _get(self, path):
        return self.requests.get(self.control + path, timeout=120).json()

    def take_callbacks(self):
        return self.requests.post(self.control + "/callbacks", timeout=120).json()

    def ledger(self):
        return self._get("/ledger")

    def stats(self):
        return self._get("/stats")

    def stop(self):
        """Stop it; its RSS (MiB) just before."""
        rss = rss_mib(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return rss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    serve(args.port, args.control_port, args.latency_ms)


if __name__ == "__main__":
    main()
