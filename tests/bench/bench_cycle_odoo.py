"""Benchmark: a national-scale voucher cycle through a real multi-worker Odoo.

One run, on a fresh database in a private PostgreSQL cluster:

1. set-up, not timed: the addons installed (``--base standin`` or
   ``openg2p``), a prefork server started like production (``--workers 2``,
   Odoo's default ``limit_time_real`` 120 s / ``limit_time_cpu`` 60 s /
   ``limit_memory_soft`` 2 GiB / ``limit_memory_hard`` 2.5 GiB, queue_job
   loaded server-wide so its runner hands out jobs, ``root:2``), a voucher
   program over JSON-RPC (filesystem document store, a PDF voucher per payment
   with an ES256-signed JWT QR code and a Code-128 barcode) and N registrants
   with approved entitlements cloned in SQL;
2. a 200-payment warm-up cycle (every worker loads its registry);
3. **ours**: Prepare Payments clicked over JSON-RPC (``g2p.cycle``
   ``prepare_payment``) on a cycle of N, the manager's
   ``voucher_chunk_size`` at ``--chunk-size``; timed until every payment of
   the cycle has its voucher and the cycle is unlocked;
4. **baseline** (upstream shape): the same click on a cycle of
   ``--baseline-payments`` with ``voucher_chunk_size`` >= that size, so ONE
   job makes the whole cycle;
5. optionally (``--baseline-probe M``) that one-job shape at a size above what
   it survives, to show what the limits do to it;
6. optionally (``--profile``) where the time goes per voucher: the server is
   stopped and one chunk (``--profile-payments``) is prepared in this process
   under cProfile (see voucher_profile.py).

Measured per run: seconds until the last voucher, vouchers/s, how long the
click itself took, the peak RSS (VmHWM) of every worker process (recycled or
killed ones too) and of the largest wkhtmltopdf, jobs run / failed / retried
(``queue_job``), workers Odoo stopped for a limit (from its log), database and
file store growth. Prints numbers; the only checks are sanity ones (the end
state: one voucher per payment, no duplicate code rows, cycle unlocked).

Usage::

    .venv/bin/python tests/bench/bench_cycle_odoo.py --base standin \\
        --odoo-src /tmp/vendor/odoo-17 [--payments 10000] [--chunk-size 500] \\
        [--baseline-payments 2000] [--baseline-probe 8000] [--profile]
    .venv/bin/python tests/bench/bench_cycle_odoo.py --base openg2p --openg2p-addons \\
        "$(.venv/bin/python setup/odoo_sources.py openg2p /tmp/vendor/openg2p-17.0)"
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIER = REPO / "tests" / "odoo_tier"
for _path in (REPO / "tests" / "support", TIER, TIER / "e2e", Path(__file__).parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import run as tier  # noqa: E402  (finding Odoo, addons path, PYTHONPATH)
from cycle_bench_setup import WARMUP, Bench  # noqa: E402
from cycle_report import print_above_baseline, print_run, print_table  # noqa: E402
from g2p_scale import procwatch, programs, servers, state  # noqa: E402

POLL_SECONDS = 0.5


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", choices=tier.BASES, default="standin")
    p.add_argument("--odoo-src", default=os.environ.get("ODOO_SRC") or None)
    p.add_argument(
        "--openg2p-addons",
        default=os.environ.get("OPENG2P_ADDONS") or "",
        help="comma-separated addons dirs of the real base "
        "(setup/odoo_sources.py openg2p SPEC prints them)",
    )
    p.add_argument("--payments", type=int, default=10_000)
    p.add_argument("--chunk-size", type=int, default=500)
    p.add_argument(
        "--baseline-payments",
        type=int,
        default=2_000,
        help="one job for the whole cycle, at a size it survives (0: no baseline)",
    )
    p.add_argument(
        "--baseline-probe",
        type=int,
        default=0,
        metavar="M",
        help="also try the one-job shape on M payments and report "
        "what happens (killed by a limit?)",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--channels",
        type=int,
        default=None,
        help="job runner capacity (default: --workers)",
    )
    p.add_argument("--cron-workers", type=int, default=0)
    p.add_argument("--limit-time-real", type=int, default=servers.LIMITS["time_real"])
    p.add_argument("--limit-time-cpu", type=int, default=servers.LIMITS["time_cpu"])
    p.add_argument(
        "--limit-memory-soft-mib", type=int, default=servers.LIMITS["memory_soft_mib"]
    )
    p.add_argument(
        "--limit-memory-hard-mib", type=int, default=servers.LIMITS["memory_hard_mib"]
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="then profile one chunk in-process (cProfile, buckets)",
    )
    p.add_argument("--profile-payments", type=int, default=500)
    p.add_argument(
        "--only-profile",
        action="store_true",
        help="skip the timed runs (set-up and profile only)",
    )
    p.add_argument(
        "--run-timeout",
        type=int,
        default=0,
        help="seconds allowed per run (default 600 + N/40)",
    )
    p.add_argument("--work-dir", default=str(REPO / ".work" / "bench-cycle"))
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the cluster, database and logs (work dir)",
    )
    args = p.parse_args(argv)
    args.openg2p_addons = [d for d in args.openg2p_addons.split(",") if d]
    if args.base == "openg2p" and not args.openg2p_addons:
        p.error("--base openg2p needs --openg2p-addons (or OPENG2P_ADDONS)")
    if args.payments < WARMUP:
        p.error(f"--payments must be at least {WARMUP}")
    args.channels = args.channels or args.workers
    return args


# -- one timed run --------------------------------------------------------------------


class Click(threading.Thread):
    """Prepare Payments over JSON-RPC, as the browser does, in the background:
    without queue_job the request itself makes the vouchers (or is killed)."""

    def __init__(self, rpc, cycle):
        super().__init__(daemon=True)
        self.rpc, self.cycle = rpc, cycle
        self.seconds = None
        self.error = None

    def run(self):
        start = time.monotonic()
        try:
            self.rpc.call("g2p.cycle", "prepare_payment", [self.cycle])
        except Exception as exc:  # the outcome is reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"[:300]
        self.seconds = time.monotonic() - start


def run_cycle(bench, label, cycle, count, chunk_size, stop_on_limit=False):
    """Click Prepare Payments and poll until every voucher exists (or the run
    times out, stalls, or, with ``stop_on_limit``, a worker is stopped by an
    Odoo limit: a killed one-job run would only be retried and killed again)."""
    args = bench.args
    if chunk_size and programs.has_chunk_field(bench.rpc):
        programs.set_chunk_size(bench.rpc, bench.setup["manager"], chunk_size)
    cr = bench.cr
    jobs_before = state.max_job_id(cr)
    db_before = state.database_size(cr)
    store_before = state.folder_size(bench.filestore())
    log_offset = len(bench.server.log_text())
    watch = procwatch.ProcessWatch(bench.server.process.pid)
    watch.reset_peaks()
    watch.start()
    timeout = args.run_timeout or 600 + count // 40
    stall_limit = args.limit_time_real + 120
    pids_seen = {}
    click = Click(bench.rpc, cycle)
    load_before = os.getloadavg()[0]
    pg_pid = procwatch.postmaster_pid(bench.cluster.datadir)
    cr.execute("SELECT pg_backend_pid()")
    (poller,) = cr.fetchone()
    cpu_before = cpu_seconds(bench.server.process.pid, pg_pid, poller)
    start = time.monotonic()
    click.start()
    outcome, last, last_change = None, None, start
    while outcome is None:
        time.sleep(POLL_SECONDS)
        now = time.monotonic()
        current = state.progress(cr, cycle)
        for job in state.jobs_since(cr, jobs_before):
            if job["worker_pid"]:
                pids_seen.setdefault(job["uuid"], set()).add(job["worker_pid"])
        if current.done(count):
            outcome = "done"
        elif now - start > timeout:
            outcome = f"timeout after {timeout} s"
        elif (current.payments, current.with_files) != last:
            last, last_change = (current.payments, current.with_files), now
        elif now - last_change > stall_limit and not click.is_alive():
            outcome = f"stalled {stall_limit} s"
        elif click.error and not state.jobs_since(cr, jobs_before):
            outcome = "click failed"
        elif stop_on_limit:
            limits = procwatch.limit_events(bench.server.log_text()[log_offset:])
            if limits:
                outcome = "killed: " + limits[0][1]
    elapsed = time.monotonic() - start
    cpu_after = cpu_seconds(bench.server.process.pid, pg_pid, poller)
    click.join(timeout=5)
    watch.stop()
    final = state.progress(cr, cycle)
    jobs = state.jobs_since(cr, jobs_before)
    log_tail = bench.server.log_text()[log_offset:]
    result = {
        "label": label,
        "count": count,
        "chunk": chunk_size,
        "outcome": outcome,
        "seconds": elapsed,
        "vouchers": final.with_files,
        "payments": final.payments,
        "locked": final.locked,
        "click_s": click.seconds,
        "click_error": click.error,
        "jobs": jobs,
        "reruns": sum(1 for pids in pids_seen.values() if len(pids) > 1),
        "limits": procwatch.limit_events(log_tail),
        "memory": procwatch.roles_table(
            watch.snapshot(),
            procwatch.worker_roles(bench.server.log_text()),
            bench.server.process.pid,
        ),
        "db_growth": state.database_size(cr) - db_before,
        "store_growth": state.folder_size(bench.filestore()) - store_before,
        "problems": [],
        "load": (load_before, os.getloadavg()[0]),
        "cpu": tuple(b - a for a, b in zip(cpu_before, cpu_after, strict=True)),
    }
    if outcome == "done":
        result["problems"] = state.voucher_problems(
            cr, cycle, count, ["pdf"], bench.setup["qrcode_configs"]
        )
    print_run(result, args)
    return result


def cpu_seconds(server_pid, pg_pid, poller_pid):
    """(Odoo server tree incl. wkhtmltopdf, PostgreSQL) CPU seconds so far;
    PostgreSQL's without the backend of this script's own progress polls."""
    pg = 0.0
    if pg_pid:
        pg = procwatch.tree_cpu_seconds(pg_pid)
        pg -= procwatch.process_cpu_seconds(poller_pid)
    return (procwatch.tree_cpu_seconds(server_pid), pg)


def profile(bench, args):
    import voucher_profile  # noqa: PLC0415 - imports Odoo: only with --profile

    cycle = bench.cycle("profile", args.profile_payments)
    if programs.has_chunk_field(bench.rpc):
        programs.set_chunk_size(
            bench.rpc, bench.setup["manager"], args.profile_payments
        )
    bench.stop_server()  # its job runner would take the jobs
    stats, wall, jobs = voucher_profile.profile_run(bench.odoo_args(), bench.db, cycle)
    final = state.progress(bench.cr, cycle)
    voucher_profile.print_report(stats, final.with_files, wall, jobs)
    if final.with_files != args.profile_payments:
        print(
            f"  SANITY: {final.with_files}/{args.profile_payments} payments got "
            "vouchers in the profiled run"
        )


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    results = []
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(
        f"bench_cycle_odoo: {args.base} base, N={args.payments}, code {commit}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    try:
        bench.install()
        bench.start_server()
        bench.make_data()
        if not args.only_profile:
            warm = bench.cycle("warm-up", WARMUP)
            run_cycle(bench, "warm-up", warm, WARMUP, WARMUP // 2)
            ours = bench.cycle("chunked", args.payments)
            results.append(
                run_cycle(
                    bench, "ours (chunk jobs)", ours, args.payments, args.chunk_size
                )
            )
            if args.baseline_payments:
                base = bench.cycle("one job", args.baseline_payments)
                results.append(
                    run_cycle(
                        bench,
                        "baseline (one job)",
                        base,
                        args.baseline_payments,
                        args.baseline_payments,
                    )
                )
            if args.baseline_probe:
                probe = bench.cycle("one job probe", args.baseline_probe)
                results.append(
                    run_cycle(
                        bench,
                        f"one job, probe {args.baseline_probe}",
                        probe,
                        args.baseline_probe,
                        args.baseline_probe,
                        stop_on_limit=True,
                    )
                )
            print_table(results, args)
            print_above_baseline(results, args)
        if args.profile:
            profile(bench, args)
    finally:
        bench.close()
        if args.keep:
            print(f"kept: {bench.work}")


if __name__ == "__main__":
    main()
