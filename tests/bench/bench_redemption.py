"""Benchmark: voucher redemption through a real prefork Odoo (2 workers).

Set-up (not timed): ``g2p_payment_files_redemption`` installed into a fresh
database, a prefork server as in production, a voucher program whose cycle of
``--payments`` is prepared the normal way (signed JWT QR code and barcode per
voucher), and 20 redemption points with one keyed device each.

Measured, each against the goal of the redemption issue:

1. 50 concurrent redemptions of ONE voucher: exactly 1 succeeds;
2. online throughput with 50 concurrent clients redeeming distinct vouchers
   (redemptions/s), and latency with 10 concurrent clients (p50, p95), with the
   JWKS route measured the same way in the same run as the baseline of a
   request that does nothing but read keys;
3. offline sync: ``--sync`` redemptions from 20 points, one batch each, sent at
   once (seconds), then the same batches again (nothing may change);
4. the status list: served size and time, and the size of a 1,000,000-entry
   list encoded the same way (30% of vouchers spent).

Usage::

    .venv/bin/python tests/bench/bench_redemption.py --base standin \\
        --odoo-src /tmp/vendor/odoo-17 [--payments 12000] [--sync 10000]
"""

import argparse
import importlib.util
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for _path in (
    REPO / "tests" / "support",
    REPO / "tests" / "odoo_tier",
    Path(__file__).parent,
):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import run as tier  # noqa: E402
from cycle_bench_setup import Bench  # noqa: E402
from g2p_scale import procwatch, servers  # noqa: E402

# The addon's Odoo-free part, without running its __init__ (Odoo models).
_spec = importlib.util.spec_from_file_location(
    "bench_status_list",
    REPO / "g2p_payment_files_redemption" / "redemption" / "status_list.py",
)
status_list = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(status_list)

ROOT = "/apiv1redemption"
POINTS = 20
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RedemptionBench(Bench):
    MODULES = "g2p_payment_files_redemption"
    DB_FILTER = False  # one database per server, as device-facing servers run


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid):
    """CPU seconds of ``pid`` and its reaped children (0 when gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / _TICK


class CpuMeter:
    """Where a phase's CPU went: this client, the Odoo server, PostgreSQL."""

    def __init__(self, bench):
        self.server_pid = bench.server.process.pid
        pidfile = Path(bench.cluster.datadir) / "postmaster.pid"
        self.pg_pid = int(pidfile.read_text().split()[0])

    def sample(self):
        tree = procwatch.children_map()

        def tree_cpu(root):
            return sum(_cpu(p) for p in [root, *procwatch.descendants(root, tree)])

        return {
            "client": _cpu(os.getpid()),
            "odoo": tree_cpu(self.server_pid),
            "postgres": tree_cpu(self.pg_pid),
        }

    def since(self, before, count):
        """'CPU per item: ...' from ``before`` to now over ``count`` items."""
        now = self.sample()
        parts = [
            f"{name} {(now[name] - before[name]) * 1000 / max(count, 1):.1f}"
            for name in ("odoo", "postgres", "client")
        ]
        return "CPU ms per request: " + ", ".join(parts)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", choices=tier.BASES, default="standin")
    p.add_argument("--odoo-src", default=os.environ.get("ODOO_SRC") or None)
    p.add_argument("--openg2p-addons", default=os.environ.get("OPENG2P_ADDONS") or "")
    p.add_argument(
        "--payments",
        type=int,
        default=0,
        help="vouchers prepared (default: what the phases below use, plus one)",
    )
    p.add_argument("--online", type=int, default=1_500, help="vouchers redeemed online")
    p.add_argument("--latency-requests", type=int, default=500)
    p.add_argument("--sync", type=int, default=10_000, help="vouchers synced offline")
    p.add_argument(
        "--kill-sync",
        type=int,
        default=2_000,
        help="vouchers synced while the HTTP workers are killed -9, then again",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work-dir", default=str(REPO / ".work" / "bench-redemption"))
    p.add_argument("--keep", action="store_true")
    p.add_argument(
        "--db-filter",
        action="store_true",
        help="start the server with --db-filter as well as -d (Odoo then lists "
        "the cluster's databases on every request without a session)",
    )
    args = p.parse_args(argv)
    # What Bench reads (the cycle benchmark's options, at their defaults).
    args.chunk_size = 500
    args.channels = args.workers
    args.cron_workers = 0
    args.limit_time_real = servers.LIMITS["time_real"]
    args.limit_time_cpu = servers.LIMITS["time_cpu"]
    args.limit_memory_soft_mib = servers.LIMITS["memory_soft_mib"]
    args.limit_memory_hard_mib = servers.LIMITS["memory_hard_mib"]
    args.baseline_payments = args.baseline_probe = args.profile_payments = 0
    args.openg2p_addons = [a for a in args.openg2p_addons.split(",") if a]
    used = 1 + args.online + args.latency_requests + args.sync + args.kill_sync
    args.payments = max(args.payments, used)
    return args


def call(method, url, key=None, body=None, tries=8):
    """(status, body bytes, seconds); resent as a device does when refused."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    start = time.perf_counter()
    for attempt in range(tries):
        try:
            with _OPENER.open(request, timeout=300) as response:
                return response.status, response.read(), time.perf_counter() - start
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), time.perf_counter() - start
        except (ConnectionError, urllib.error.URLError):
            if attempt == tries - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def in_threads(count, work):
    """Run ``work(i)`` in ``count`` threads started together; their results."""
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def prepare(bench, count):
    cycle = bench.cycle("redemption", count)
    bench.rpc.call("g2p.cycle", "prepare_payment", [cycle])
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        bench.cr.execute(
            "SELECT count(DISTINCT q.payment_id) FROM g2p_payment_file_qrcode q "
            "JOIN g2p_payment p ON p.id = q.payment_id WHERE p.cycle_id = %s",
            (cycle,),
        )
        if bench.cr.fetchone()[0] >= count:
            break
        time.sleep(1)
    bench.cr.execute(
        "SELECT DISTINCT ON (q.payment_id) q.data FROM g2p_payment_file_qrcode q "
        "JOIN g2p_payment p ON p.id = q.payment_id "
        "JOIN g2p_payment_file_qrcode_config c ON c.id = q.qrcode_config_id "
        "WHERE p.cycle_id = %s AND c.data_type = 'jwt' ORDER BY q.payment_id",
        (cycle,),
    )
    return [row[0] for row in bench.cr.fetchall()]


def keyed_points(bench, program):
    keys = []
    for i in range(POINTS):
        point = bench.rpc.call(
            "g2p.redemption.point",
            "create",
            {"name": f"Bench point {i}", "program_ids": [(6, 0, [program])]},
        )
        device = bench.rpc.call(
            "g2p.redemption.device", "create", {"name": f"Till {i}", "point_id": point}
        )
        action = bench.rpc.call("g2p.redemption.device", "action_issue_key", [device])
        [row] = bench.rpc.call(
            "g2p.redemption.device.key", "read", [action["res_id"]], ["key"]
        )
        keys.append(row["key"])
    return keys


def sync_from_points(url, keys, codes, tag, per_request=500):
    """Each point syncs its share of ``codes``: (accepted, replays, seconds)."""
    per_point = (len(codes) + POINTS - 1) // POINTS
    batches = [
        [
            {"code": c, "transaction_id": f"{tag}-{i}-{n}"}
            for n, c in enumerate(codes[i * per_point : (i + 1) * per_point])
        ]
        for i in range(POINTS)
    ]
    sync = url + ROOT + "/vouchers/sync"
    results, seconds = in_threads(
        POINTS,
        lambda i: [
            call("POST", sync, keys[i], {"items": batches[i][s : s + per_request]})
            for s in range(0, len(batches[i]), per_request)
        ],
    )
    answers = [json.loads(r[1]) for chunk in results for r in chunk if r[0] == 200]
    accepted = sum(a["accepted"] for a in answers)
    replays = sum(1 for a in answers for r in a["results"] if r.get("replay"))
    return accepted, replays, seconds


def http_workers(bench):
    """The server's live HTTP worker pids (as its log names them)."""
    alive = set(procwatch.descendants(bench.server.process.pid))
    roles = procwatch.worker_roles(bench.server.log_text())
    named = {pid for pid, role in roles.items() if role == "WorkerHTTP"}
    return sorted(alive & named)


def kill_mid_sync(bench, url, keys, codes):
    """Workers killed -9 twice while 20 points sync; then every batch again."""
    if not codes:
        return
    killed = []

    def killer():
        for _round in range(2):
            time.sleep(1.0)
            for pid in http_workers(bench):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass

    thread = threading.Thread(target=killer)
    thread.start()
    # Small requests, so that many are in flight when the workers die; a
    # device resends a request that got no answer (``call`` retries).
    accepted, _replays, seconds = sync_from_points(url, keys, codes, "kill", 50)
    thread.join()
    again, replays, seconds_again = sync_from_points(url, keys, codes, "kill", 50)
    bench.cr.execute(
        "SELECT count(*), count(DISTINCT r.payment_id) FROM g2p_voucher_redemption r "
        "JOIN g2p_payment_file_qrcode q ON q.id = r.voucher_id "
        "WHERE r.state = 'accepted' AND r.transaction_id LIKE 'kill-%%'"
    )
    total, distinct = bench.cr.fetchone()
    verdict = "exactly once" if total == distinct == len(codes) else "NOT exactly once"
    print(
        f"offline sync of {len(codes)} with {len(killed)} HTTP workers killed -9: "
        f"{accepted} accepted in {seconds:.1f} s; sent again: {again} accepted, "
        f"{replays} replays in {seconds_again:.1f} s; ledger: {total} accepted for "
        f"{distinct} payments ({verdict})"
    )


def measure(bench, codes, keys, args):
    url = bench.server.url
    meter = CpuMeter(bench)
    redeem = url + ROOT + "/vouchers/redeem"
    # 1. One voucher, 50 at once.
    answers, _s = in_threads(
        50,
        lambda i: call(
            "POST",
            redeem,
            keys[i % POINTS],
            {"code": codes[0], "transaction_id": f"race-{i}"},
        ),
    )
    statuses = [a[0] for a in answers]
    won, lost = statuses.count(200), statuses.count(409)
    print(
        f"same voucher, 50 concurrent: {won} succeeded, {lost} refused (409), "
        f"others {len(statuses) - won - lost}"
    )
    # 2. Throughput (50 clients) and latency (10 clients); the JWKS alike.
    online = codes[1 : 1 + args.online]
    per = (len(online) + 49) // 50

    def redeem_many(i):
        return [
            call(
                "POST",
                redeem,
                keys[i % POINTS],
                {"code": c, "transaction_id": f"on-{i}-{n}"},
            )
            for n, c in enumerate(online[i * per : (i + 1) * per])
        ]

    before = meter.sample()
    results, seconds = in_threads(50, redeem_many)
    flat = [r for chunk in results for r in chunk]
    ok = sum(1 for r in flat if r[0] == 200)
    print(
        f"online, 50 clients: {ok}/{len(flat)} redeemed in {seconds:.1f} s = "
        f"{ok / seconds:.0f} redemptions/s (goal >= 100); "
        + meter.since(before, len(flat))
    )
    start = 1 + args.online
    spare = codes[start : start + args.latency_requests]
    per10 = (len(spare) + 9) // 10
    before = meter.sample()
    results, seconds = in_threads(
        10,
        lambda i: [
            call("POST", url + ROOT + "/vouchers/check", keys[i], {"code": c})
            for c in spare[i * per10 : (i + 1) * per10]
        ],
    )
    lat = [r[2] * 1000 for chunk in results for r in chunk]
    print(
        f"check, 10 clients: {len(lat) / seconds:.0f} requests/s; "
        + meter.since(before, len(lat))
    )
    before = meter.sample()
    results, seconds = in_threads(
        10,
        lambda i: [call("GET", url + "/apiv1payment/jwks.json") for _ in range(per10)],
    )
    jwks = [r[2] * 1000 for chunk in results for r in chunk]
    print(
        f"JWKS route, 10 clients: {len(jwks) / seconds:.0f} requests/s; "
        + meter.since(before, len(jwks))
    )
    print(
        f"latency, 10 clients (check): p50 {statistics.median(lat):.0f} ms, "
        f"p95 {percentile(lat, 0.95):.0f} ms (goal <= 250); JWKS route: p50 "
        f"{statistics.median(jwks):.0f} ms, p95 {percentile(jwks, 0.95):.0f} ms"
    )
    # 3. Offline sync from 20 points, then the same batches again.
    start += args.latency_requests
    offline = codes[start : start + args.sync]
    for label in ("first", "again"):
        before = meter.sample()
        accepted, replays, seconds = sync_from_points(url, keys, offline, "off")
        print(
            f"offline sync ({label}), {POINTS} points: {accepted} accepted, "
            f"{replays} replays in {seconds:.1f} s (goal <= 60 s); "
            + meter.since(before, len(offline)).replace("request", "item")
        )
    start += args.sync
    kill_mid_sync(bench, url, keys, codes[start : start + args.kill_sync])
    # 4. The status list.
    status, body, seconds = call("GET", url + "/apiv1payment/statuslists/1")
    ms = seconds * 1000
    print(f"status list served: HTTP {status}, {len(body)} bytes in {ms:.0f} ms")
    rng = random.Random(1)
    lst = status_list.encode(
        (i for i in range(1_000_000) if rng.random() < 0.3), 1_000_000
    )
    print(
        f"status list of 1,000,000 vouchers, 30% spent: {len(lst) + 600} bytes "
        f"(goal <= 300 KB)"
    )
    bench.cr.execute(
        "SELECT count(*), count(DISTINCT payment_id) FROM g2p_voucher_redemption "
        "WHERE state = 'accepted'"
    )
    total, distinct = bench.cr.fetchone()
    print(
        f"ledger: {total} accepted redemptions for {distinct} payments "
        f"({'exactly once' if total == distinct else 'DUPLICATES'})"
    )


def main(argv=None):
    args = parse_args(argv)
    RedemptionBench.DB_FILTER = args.db_filter
    bench = RedemptionBench(args)
    try:
        bench.install()
        bench.start_server()
        bench.make_data()
        start = time.monotonic()
        codes = prepare(bench, args.payments)
        took = time.monotonic() - start
        print(f"set-up: {len(codes)} vouchers prepared in {took:.0f} s")
        keys = keyed_points(bench, bench.setup["program"])
        measure(bench, codes, keys, args)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
