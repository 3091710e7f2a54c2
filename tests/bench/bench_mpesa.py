"""Benchmark: Mpesa dispatch engine vs an upstream-style sender.

All variants pay the same number of deposits to the simulator (a separate
process, so its threads neither share our GIL nor show up in tracemalloc),
with an injected gateway latency (default 20 ms per deposit).

* baseline (upstream style): log in once per batch, ``requests.post`` per
  payment (a new TCP connection each time), no state tracking, no commits.
* ours: ``mpesa.dispatch`` with a store that commits every state change to
  PostgreSQL (SENDING before the request; the attempt row + result after it),
  as autocommit single statements: 2 durable round trips per payment.
  Keep-alive session; items streamed from the database in chunks.
* ``--with-naive``: the same with explicit COMMITs (5 round trips/payment).

The variants run interleaved in rounds so load drift on a shared machine hits
them alike.  Columns: wall time, payments/s, ms per payment beyond the gateway
latency, and CPU per payment of this process, the DB backends and the
simulator (from /proc).  Then tracemalloc peaks at 1,000 vs 5,000 payments.

Prints numbers only.  Usage::

    /work/venv/bin/python tests/bench/bench_mpesa.py [--payments 5000]
        [--latency-ms 20] [--rounds 6] [--with-naive] [--memory-sizes 1000,5000]

PostgreSQL: env PGHOST/PGPORT/PGUSER (default socket /tmp/pgdev, user odoo);
a temporary database is created and dropped.  Falls back to sqlite (noted).
"""

import argparse
import itertools
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))

from g2p_bench import simulator, upstream  # noqa: E402
from mpesa_engine_store import Database, PgStore, mpesa_client, mpesa_dispatch  # noqa: E402

AGENT, PASSWORD = "bench-agent@sim.test", "bench-secret"


# -- simulator process ---------------------------------------------------------------


def start_simulator(latency_ms):
    port = simulator.free_port()
    proc = simulator.start_simulator(
        port, AGENT, PASSWORD, latency_ms, stderr=subprocess.DEVNULL
    )
    return proc, f"http://127.0.0.1:{port}"


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_cpu(pid):
    """CPU seconds (user + system, all threads) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuMeter:
    """Accumulates CPU of this process, the simulator and DB backends."""

    def __init__(self, sim_pid, db_pids=()):
        self.pids = {"sim": [sim_pid], "db": list(db_pids)}
        self.total = {"client": 0.0, "sim": 0.0, "db": 0.0}

    def __enter__(self):
        self._start = self._read()
        return self

    def _read(self):
        data = {"client": time.process_time()}
        for key, pids in self.pids.items():
            data[key] = sum(proc_cpu(pid) for pid in pids)
        return data

    def __exit__(self, *exc):
        end = self._read()
        for key in self.total:
            self.total[key] += end[key] - self._start[key]


def sim_config(base, **fields):
    requests.post(base + "/_sim/config", json=fields, timeout=5).raise_for_status()


def sim_counts(base):
    return requests.get(base + "/_sim/deposits", timeout=30).json()["counts"]


def payments(n, run):
    for i in range(n):
        yield (f"{run}-{i}@bench.test", 10 + i % 90)


# -- baseline --------------------------------------------------------------------------


def run_baseline(base, n, batch_size, run="base"):
    """Upstream shape: login per batch, requests.post per payment, nothing stored."""
    auth_url = base + "/api/login/agent"
    pay_url = base + "/api/transaction/deposit"
    todo = list(payments(n, run))  # upstream walks a batch recordset in memory
    paid = 0
    start = time.perf_counter()
    for offset in range(0, n, batch_size):
        token = upstream.login(auth_url, AGENT, PASSWORD)
        for account, amount in todo[offset : offset + batch_size]:
            upstream.deposit(pay_url, token, amount, account)
            paid += 1
    return time.perf_counter() - start, paid


# -- ours --------------------------------------------------------------------------
class Ours:
    """Our side: one seeded store and client, dispatched slice by slice."""

    def __init__(self, db, base, n, run="ours", naive=False):
        self.store, self.reader = db.new_store(run.replace("-", "_"), naive=naive)
        self.store.seed(
            [(i + 1, acct, amount) for i, (acct, amount) in enumerate(payments(n, run))]
        )
        self.client = mpesa_client.SimpleMpesaClient(
            base + "/api/login/agent",
            base + "/api/transaction/deposit",
            AGENT,
            PASSWORD,
            timeout=(3.0, 10.0),
        )
        self.sent = 0
        conns = (self.store.conn, self.reader)
        self.db_pids = [
            c.get_backend_pid() for c in conns if hasattr(c, "get_backend_pid")
        ]

    def run(self, limit):
        """Dispatch the next ``limit`` queued payments; return elapsed seconds."""
        items = itertools.islice(self.store.queued(self.reader), limit)
        start = time.perf_counter()
        report = mpesa_dispatch.dispatch(items, self.client, self.store)
        elapsed = time.perf_counter() - start
        self.sent += report.sent
        return elapsed

    def close(self):
        self.client.close()
        self.store.conn.close()
        self.reader.close()


def traced_ours(db, base, n, run):
    ours = Ours(db, base, n, run=run)
    tracemalloc.start()
    ours.run(n)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ours.close()
    return peak


def traced_baseline(base, n, batch_size, run):
    tracemalloc.start()
    run_baseline(base, n, batch_size, run=run)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description="Mpesa dispatch benchmark")
    parser.add_argument("--payments", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--with-naive",
        action="store_true",
        help="also time a store doing explicit COMMITs (5 DB round trips/payment)",
    )
    parser.add_argument("--batch-size", type=int, default=500, help="baseline batch")
    parser.add_argument(
        "--memory-sizes",
        default="1000,5000",
        help="payment counts for the tracemalloc runs (0 latency); empty to skip",
    )
    args = parser.parse_args(argv)
    n, latency = args.payments, args.latency_ms / 1000.0
    # SIGTERM unwinds like Ctrl-C: stop the simulator, drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    proc, base = start_simulator(args.latency_ms)
    try:
        with Database() as db:
            print(f"store: {db.note}")
            print(
                f"gateway: simulator process, {args.latency_ms:g} ms latency "
                f"per deposit"
            )
            # warm up both paths (imports, connection pools, DB caches)
            run_baseline(base, 20, args.batch_size, run="warm-b")
            warm = Ours(db, base, 20, run="warm-o")
            warm.run(20)
            warm.close()

            # The machine is shared: interleave the variants in rounds (order
            # rotating) so load drift hits all of them alike.
            ours = Ours(db, base, n)
            variants = [
                ["baseline (upstream style)", 0.0, 0, None],
                [
                    "ours (engine, PG autocommit)"
                    if db.kind == "postgresql"
                    else "ours (engine, sqlite commits)",
                    0.0,
                    0,
                    ours,
                ],
            ]
            meters = {
                variants[0][0]: CpuMeter(proc.pid),
                variants[1][0]: CpuMeter(proc.pid, ours.db_pids),
            }
            naive = None
            if args.with_naive and db.kind == "postgresql":
                naive = Ours(db, base, n, run="naive", naive=True)
                variants.append(["ours (explicit COMMITs)", 0.0, 0, naive])
                meters[variants[2][0]] = CpuMeter(proc.pid, naive.db_pids)
            done = 0
            for rnd in range(args.rounds):
                size = (n - done) // (args.rounds - rnd)
                if size <= 0:
                    continue
                shift = rnd % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    runner = variant[3]
                    with meters[variant[0]]:
                        if runner is None:
                            secs, paid = run_baseline(
                                base, size, args.batch_size, f"b{rnd}"
                            )
                            variant[2] += paid
                        else:
                            secs = runner.run(size)
                    variant[1] += secs
                done += size
            trips = {"baseline (upstream style)": "-"}
            for variant in variants[1:]:
                runner = variant[3]
                variant[2] = runner.store.state_counts().get("paid", 0)
                if db.kind != "postgresql":
                    trips[variant[0]] = "n/a"
                else:
                    trips[variant[0]] = (
                        "2" if isinstance(runner.store, PgStore) else "5"
                    )
            states = ours.store.state_counts()
            sent = ours.sent
            for variant in variants[1:]:
                variant[3].close()
            counts = sim_counts(base)
            twice = sum(1 for c in counts.values() if c > 1)

            print()
            print(
                f"{'variant':<30} {'payments':>8} {'seconds':>8} {'pay/s':>7} "
                f"{'ms/pay':>7} {'overhead ms':>11} {'DB trips':>8} {'paid':>6}"
                f"   CPU ms/pay: {'client':>6} {'DB':>5} {'gateway':>7}"
            )
            for name, secs, paid, _runner in variants:
                per = secs / n * 1000.0
                cpu = {k: v / n * 1000.0 for k, v in meters[name].total.items()}
                print(
                    f"{name:<30} {n:>8} {secs:>8.2f} {n / secs:>7.1f} "
                    f"{per:>7.2f} {per - latency * 1000:>11.2f} {trips[name]:>8} "
                    f"{paid:>6}               {cpu['client']:>6.2f} {cpu['db']:>5.2f} "
                    f"{cpu['sim']:>7.2f}"
                )
            t_base = variants[0][1]
            for name, secs, _paid, _runner in variants[1:]:
                ratio = t_base / secs
                print(
                    f"{name} / baseline throughput: {ratio:.3f} "
                    f"({(ratio - 1) * 100:+.1f} %)"
                )
            print(
                f"{args.rounds} interleaved rounds; 'overhead' = ms per payment beyond "
                f"the {args.latency_ms:g} ms gateway latency; DB trips = round trips "
                f"per payment, each state change durable before the next request; "
                f"CPU from /proc (client = this process, gateway = simulator)"
            )
            print(
                f"ours: gateway calls {sent}, states {states}; "
                f"accounts paid more than once (all variants): {twice}"
            )

            sizes = [int(s) for s in args.memory_sizes.split(",") if s.strip()]
            if sizes:
                sim_config(base, latency=0.0)
                print("\npeak traced memory (tracemalloc, 0 ms latency) in KiB")
                print(f"{'variant':<28} " + " ".join(f"{s:>10}" for s in sizes))
                ours_peaks = [traced_ours(db, base, s, f"mem-o{s}") for s in sizes]
                base_peaks = [
                    traced_baseline(base, s, args.batch_size, run=f"mem-b{s}")
                    for s in sizes
                ]
                print(
                    f"{'ours (streamed from DB)':<28} "
                    + " ".join(f"{p / 1024:>10.1f}" for p in ours_peaks)
                )
                print(
                    f"{'baseline (list in memory)':<28} "
                    + " ".join(f"{p / 1024:>10.1f}" for p in base_peaks)
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
