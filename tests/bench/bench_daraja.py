"""Benchmark: Daraja B2C sending (concurrent, OCID) vs simple-mpesa (sequential).

Both engines pay the same number of payees to their simulator, each a
separate process with the same injected gateway latency:

* simple-mpesa: ``mpesa.dispatch`` (one request at a time per agent, as it must
  be: no idempotency key, racy balances);
* Daraja: ``mpesa.daraja_send.send`` with ``--concurrency`` threads (default 8)
  over one shared token.

Stores are in memory (no database), so the figures are the engines' and the
gateways' own; through the Odoo cron (``bench_mpesa_scale_odoo.py
--simple-latency-ms``) simple-mpesa adds two commits per payment, Daraja one
per payment and one per group of answers.  Prints
payments/s per engine and latency, and each simulator's per-payee deposit
counts (every payee must have exactly 1).  Usage::

    .venv/bin/python tests/bench/bench_daraja.py [--payments 10000]
        [--latencies-ms 20,100] [--concurrency 8] [--skip-simple]

At 100 ms, 10,000 sequential simple-mpesa deposits take ~17 minutes; use
``--payments`` to shorten.
"""

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO))

from g2p_bench import simulator  # noqa: E402

# The addon packages import Odoo in their __init__; load the pure parts only.
sys.path.insert(0, str(REPO / "tests"))
import conftest  # noqa: E402, F401 - registers the addons as bare packages

from g2p_payment_simple_mpesa.mpesa import client as mpesa_client  # noqa: E402
from g2p_payment_simple_mpesa.mpesa import const, daraja_send, dispatch  # noqa: E402
from g2p_payment_simple_mpesa.mpesa.daraja_client import (  # noqa: E402
    DarajaClient,
    TokenCache,
)
from g2p_payment_simple_mpesa.mpesa.daraja_credential import (  # noqa: E402
    security_credential,
)

DARAJA_PY = REPO / "tests" / "support" / "g2p_simulators" / "daraja.py"
AGENT, PASSWORD = "bench-agent@sim.test", "bench-secret"
# The simulator's defaults (it plays the other side; these are its test values).
SIM_KEY, SIM_SECRET = "sim-key", "sim-secret"
SIM_SHORTCODE, SIM_INITIATOR, SIM_PASSWORD = (
    "600000",
    "sim-initiator",
    "Sim-Initiator-Pass1",
)


class MemoryStore:
    def __init__(self):
        self.states = Counter()

    def begin_send(self, item):
        return True

    def record_result(self, item, outcome, decision):
        self.states[decision.state] += 1


def wait_ready(url):
    for _attempt in range(200):
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit(f"simulator at {url} did not start")


def start_daraja(latency_ms):
    port = simulator.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(DARAJA_PY),
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
            "--delivery",
            "outbox",
        ],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/_sim/ledger")
    return proc, base


def run_daraja(n, latency_ms, concurrency):
    proc, base = start_daraja(latency_ms)
    try:
        pem = requests.get(base + "/_sim/certificate", timeout=5).json()["pem"]
        client = DarajaClient(
            token_url=base + const.DARAJA_TOKEN_PATH,
            payment_url=base + const.DARAJA_PAYMENT_PATH,
            status_url=base + const.DARAJA_STATUS_PATH,
            consumer_key=SIM_KEY,
            consumer_secret=SIM_SECRET,
            shortcode=SIM_SHORTCODE,
            initiator_name=SIM_INITIATOR,
            security_credential=security_credential(SIM_PASSWORD, pem.encode()),
            result_url="http://127.0.0.1:9/result",
            timeout_url="http://127.0.0.1:9/timeout",
            timeout=30,
            token_cache=TokenCache(),
            pool_size=concurrency,
        )
        items = (
            daraja_send.DarajaItem(i, f"BENCH-{i}", 100, "2547%08d" % i, "Bench")
            for i in range(1, n + 1)
        )
        store = MemoryStore()
        start = time.perf_counter()
        report = daraja_send.send(items, client, store, concurrency=concurrency)
        elapsed = time.perf_counter() - start
        counts = requests.get(base + "/_sim/ledger", timeout=30).json()["counts"]
        client.close()
        return elapsed, dict(store.states), Counter(counts.values()), report
    finally:
        proc.terminate()
        proc.wait()


def run_simple(n, latency_ms):
    port = simulator.free_port()
    proc = simulator.start_simulator(
        port, AGENT, PASSWORD, latency_ms, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        client = mpesa_client.SimpleMpesaClient(
            base + "/api/login/agent",
            base + "/api/transaction/deposit",
            AGENT,
            PASSWORD,
            timeout=30,
        )
        items = (
            dispatch.DispatchItem(i, 100, "2547%08d" % i, const.CUSTOMER_SUBSCRIBER)
            for i in range(1, n + 1)
        )
        store = MemoryStore()
        start = time.perf_counter()
        dispatch.dispatch(items, client, store)
        elapsed = time.perf_counter() - start
        counts = requests.get(base + "/_sim/deposits", timeout=30).json()["counts"]
        client.close()
        return elapsed, dict(store.states), Counter(counts.values())
    finally:
        proc.terminate()
        proc.wait()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--latencies-ms", default="20,100")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-simple", action="store_true")
    args = parser.parse_args(argv)
    n = args.payments
    print(f"{n} payments; payees by deposits received: {{deposits: payees}}")
    for latency in [float(x) for x in args.latencies_ms.split(",")]:
        elapsed, states, per_payee, report = run_daraja(n, latency, args.concurrency)
        print(
            f"latency {latency:>5.0f} ms  daraja x{args.concurrency:<2}  "
            f"{elapsed:8.1f} s  {n / elapsed:8.1f} payments/s  states {states}  "
            f"payees {dict(per_payee)}  rate-limited {report.rate_limited}"
        )
        if args.skip_simple:
            continue
        elapsed_s, states_s, per_payee_s = run_simple(n, latency)
        print(
            f"latency {latency:>5.0f} ms  simple-mpesa   "
            f"{elapsed_s:8.1f} s  {n / elapsed_s:8.1f} payments/s  states {states_s}  "
            f"payees {dict(per_payee_s)}  speed-up x{elapsed_s / elapsed:.1f}"
        )


if __name__ == "__main__":
    main()
