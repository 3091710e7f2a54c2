"""Benchmark: the Mpesa manager at national scale through Odoo, on both bases.

For each base and each size N (default 10,000 and 100,000), in a throw-away
database with ``g2p_payment_simple_mpesa`` installed, N registrants with a
phone and three cycles of N approved entitlements are created; then each
measurement runs in a fresh process (``bench_mpesa_scale_child.py``), so the
peak RSS it reports (VmHWM, reset once the registry is loaded) is its own:

prepare
  * baseline (upstream style, before this change): the Mpesa manager as it
    was, i.e. the base's own ``_prepare_payments`` (on the real base
    upstream's one ``create`` per payment) and its writes, in ONE transaction
    as the base's single queue_job runs it.  Stopped at ``--baseline-timeout``.
  * ours, one job: ``_prepare_payments`` over all N in one transaction.
  * ours, chunked: the click (``_prepare_payments_async``: plan and queue),
    then ``--workers`` processes running the queued chunk jobs as queue_job's
    runner does (each job committed on its own); the longest job and each
    worker's peak RSS are what ``limit_time_real`` / ``limit_memory_hard``
    see.
disburse (``--disburse-bases``, default the first base; ``--disburse-gateways``,
default simple-mpesa)
  * simple-mpesa, ours: the cron called pass after pass in ONE long-lived
    process (a cron worker), each pass bounded by ``--per-run`` payments,
    against the gateway simulator in a process of its own
    (``--simple-latency-ms``, default 0; its memory is reported apart).  At
    checkpoints: RSS, tracemalloc's traced memory (1 frame) as the worker has
    it and after ``gc.collect()``;
    retained bytes per payment between the first and the last checkpoint.
  * simple-mpesa, baseline (upstream style): every batch sent in one request
    and one transaction, one COMMIT at the end.
  * daraja-b2c: a second program with a Daraja B2C manager and its own cycle
    of N payments (same registrants); the same cron passes in one process,
    ``--daraja-concurrency`` requests in flight, against the Daraja simulator
    in a process of its own (``--daraja-latency-ms``, outbox delivery).
    Between two passes the Result callbacks the simulator decided are applied
    in the same process, one transaction each, through the model method the
    callbacks router calls (``_daraja_receive_callback``), so the memory
    figures cover the send path and the result path.  Checks: every payment
    paid with a receipt, every payee exactly one deposit in the simulator's
    ledger, no deposit to anyone else.

Prints numbers; the checks are sanity ones (N payments, batches of at most
``--batch-size``, nobody paid twice).  PostgreSQL: a private throw-away
cluster, or the server of PGHOST/PGPORT/PGUSER (databases created and dropped).

    .venv/bin/python tests/bench/bench_mpesa_scale_odoo.py \\
        --odoo-src /tmp/vendor/odoo-17 --openg2p-src /tmp/vendor/openg2p-17.0 \\
        [--sizes 10000,100000] [--bases standin,openg2p] [--workers 2]
        [--phases disburse --disburse-gateways simple-mpesa,daraja-b2c]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "odoo_tier"))
sys.path.insert(0, str(REPO / "tests" / "support"))
import pg  # noqa: E402
from g2p_bench.odoo_lib import install_module  # noqa: E402
from mpesa_scale_report import (  # noqa: E402
    print_summary,
    report_disburse,
    report_prepare,
)

CHILD = Path(__file__).with_name("bench_mpesa_scale_child.py")
GATEWAYS = ("simple-mpesa", "daraja-b2c")
MODULE = "g2p_payment_simple_mpesa"
RANGE = 10_000_000  # distinct phone numbers per size


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument(
        "--odoo-src", default=os.environ.get("ODOO_SRC", "/tmp/vendor/odoo-17")
    )
    p.add_argument("--openg2p-src", default=os.environ.get("OPENG2P_SRC"))
    p.add_argument(
        "--bases", default=None, help="default: standin, and openg2p with --openg2p-src"
    )
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--phases", default="prepare,disburse")
    p.add_argument("--disburse-bases", default=None, help="default: the first base")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument(
        "--chunk-size", type=int, default=None, help="default: the manager's"
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--per-run", type=int, default=2000, help="payments per cron pass")
    p.add_argument("--baseline-timeout", type=float, default=900.0)
    p.add_argument("--no-trace", action="store_true", help="no tracemalloc in disburse")
    p.add_argument(
        "--disburse-gateways",
        default="simple-mpesa",
        help="simple-mpesa and/or daraja-b2c, comma-separated",
    )
    p.add_argument("--daraja-latency-ms", type=float, default=20.0)
    p.add_argument(
        "--simple-latency-ms",
        type=float,
        default=0.0,
        help="simple-mpesa simulator latency (same as Daraja's: a throughput "
        "comparison through the cron)",
    )
    p.add_argument(
        "--daraja-concurrency", type=int, default=8, help="the manager's default"
    )
    p.add_argument(
        "--trace-top",
        type=int,
        default=0,
        help="diagnosis: the N lines whose traced memory grew most between the "
        "first and the last checkpoint (holds a snapshot: distorts the figures)",
    )
    p.add_argument(
        "--trace-frames", type=int, default=1, help="frames kept per traced block"
    )
    p.add_argument(
        "--profile",
        help="diagnosis: cProfile each cron pass into PROFILE.<pid>.<ns> files",
    )
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.phases = set(args.phases.split(","))
    if args.bases is None:
        args.bases = "standin,openg2p" if args.openg2p_src else "standin"
    args.bases = args.bases.split(",")
    args.disburse_bases = (args.disburse_bases or args.bases[0]).split(",")
    args.disburse_gateways = args.disburse_gateways.split(",")
    unknown = set(args.disburse_gateways) - set(GATEWAYS)
    if unknown:
        p.error(f"--disburse-gateways: {', '.join(sorted(unknown))}; use {GATEWAYS}")
    return args


def _print_out(cmd):
    return subprocess.run(
        cmd, check=True, capture_output=True, text=True
    ).stdout.strip()


def addons_path(args, base):
    py = sys.executable
    parts = [str(Path(args.odoo_src) / "addons")]
    if base == "openg2p":
        if not args.openg2p_src:
            raise SystemExit("--bases openg2p needs --openg2p-src")
        parts.append(
            _print_out([py, "setup/odoo_sources.py", "openg2p", args.openg2p_src])
        )
    else:
        parts.append(_print_out([py, "tests/odoo_tier/standin_addons.py"]))
        parts.append(str(REPO / "openg2p_base_standin"))
    return ",".join(parts + [str(REPO)])


def create_db(target, conf):
    odoo_args = [f"--addons-path={conf['addons_path']}", *target.odoo_args()]
    seconds = install_module(
        conf["odoo_src"], odoo_args, conf["db"], MODULE, tail=3000, cwd=REPO
    )
    print(f"{conf['db']}: {MODULE} installed in {seconds:.0f} s", flush=True)


def child(kind, conf, timeout=None):
    """Start one measurement; returns the Popen (see ``result``)."""
    return subprocess.Popen(
        [sys.executable, str(CHILD), kind, json.dumps(conf)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    ), timeout


def result(handle):
    proc, timeout = handle
    try:
        out, _err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"timeout": timeout}
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"measurement failed (exit {proc.returncode}):\n{out[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def run(kind, conf, timeout=None):
    return result(child(kind, conf, timeout))


# -- prepare -------------------------------------------------------------------------
def prepare_phase(conf, cycles, n, args):
    rows = []
    if args.no_baseline:
        rows.append(("baseline (upstream style, 1 job)", None))
    else:
        base = run(
            "prepare",
            dict(conf, cycle_id=cycles[2], variant="baseline"),
            timeout=args.baseline_timeout,
        )
        rows.append(("baseline (upstream style, 1 job)", base))
    rows.append(
        (
            "ours, one job",
            run("prepare", dict(conf, cycle_id=cycles[0], variant="one_job")),
        )
    )
    click = run("plan", dict(conf, cycle_id=cycles[1]))
    handles = [
        child("worker", dict(conf, graph=click["graph"])) for _i in range(args.workers)
    ]
    workers = [result(h) for h in handles]
    # From the first job started to the last one done (worker start-up aside).
    busy = [w for w in workers if w["jobs"]]
    wall = max(w["last_end"] for w in busy) - min(w["first_start"] for w in busy)
    chunked = dict(
        run("figures", dict(conf, cycle_id=cycles[1])),
        seconds=wall,
        click=click,
        workers=workers,
    )
    rows.append(("ours, chunked jobs", chunked))
    report_prepare(conf, n, args, rows)
    return rows


# -- disburse ------------------------------------------------------------------------
def _passes_conf(n, args):
    """What both gateways' cron-pass measurements are told."""
    return {
        "per_run": args.per_run,
        "sim_port": pg.free_port(),
        "trace": not args.no_trace,
        "trace_top": args.trace_top,
        "trace_frames": args.trace_frames,
        "profile": args.profile,
        "checkpoints": sorted({max(n // 10, 1), n // 2, n}),
        "max_passes": 10 * math.ceil(n / args.per_run) + 10,
    }


def disburse_phase(conf, cycles, n, args):
    run("send", dict(conf, cycle_id=cycles[0]))
    ours = run(
        "disburse",
        dict(
            conf,
            cycle_id=cycles[0],
            latency_ms=args.simple_latency_ms,
            **_passes_conf(n, args),
        ),
    )
    base = None
    if not args.no_baseline:
        base = run(
            "disburse_baseline",
            dict(
                conf,
                cycle_id=cycles[1],
                per_run=args.per_run,
                sim_port=pg.free_port(),
                latency_ms=args.simple_latency_ms,
            ),
            timeout=args.baseline_timeout,
        )
    report_disburse(conf, n, args, ours, base)
    return ours, base


def daraja_phase(conf, n, number, args):
    """A Daraja program over the same registrants: set up, prepare, send, disburse."""
    start = time.perf_counter()
    made = run("daraja_setup", dict(conf, n=n, first=number * RANGE))
    conf_d = dict(conf, manager_id=made["manager_id"], cycle_id=made["cycle_id"])
    prepared = run("prepare", dict(conf_d, variant="one_job"))
    if prepared["payments"] != n or prepared["paid_twice"]:
        raise SystemExit(f"daraja prepare: {prepared}")
    run("send", conf_d)
    print(
        f"{conf['base']}: Daraja program, {n} payments prepared and queued in "
        f"{time.perf_counter() - start:.0f} s",
        flush=True,
    )
    ours = run(
        "daraja_disburse",
        dict(
            conf_d,
            concurrency=args.daraja_concurrency,
            latency_ms=args.daraja_latency_ms,
            control_port=pg.free_port(),
            **_passes_conf(n, args),
        ),
    )
    report_disburse(conf, n, args, ours, None)
    return ours


# -- main ----------------------------------------------------------------------------
def main(argv=None):
    args = parse_args(argv)
    os.chdir(REPO)
    cluster = None
    target = pg.external_target()
    if target is None:
        cluster = pg.PrivateCluster(port=pg.free_port())
        target = cluster.start()
    created = []
    summary = []
    try:
        for base in args.bases:
            conf = {
                "base": base,
                "odoo_src": args.odoo_src,
                "addons_path": addons_path(args, base),
                "db": f"bench_mpesa_scale_{base}_{os.getpid()}",
                "db_host": target.host,
                "db_port": target.port,
                "db_user": target.user,
                "batch_size": args.batch_size,
            }
            created.append(conf["db"])
            create_db(target, conf)
            disburse = "disburse" in args.phases and base in args.disburse_bases
            simple = disburse and "simple-mpesa" in args.disburse_gateways
            daraja = disburse and "daraja-b2c" in args.disburse_gateways
            # prepare: three cycles; simple-mpesa disburse: ours (+ baseline).
            if "prepare" in args.phases:
                n_cycles = 3
            else:
                n_cycles = (1 if args.no_baseline else 2) if simple else 0
            for number, n in enumerate(args.sizes, start=1):
                start = time.perf_counter()
                made = run(
                    "setup",
                    dict(
                        conf,
                        n=n,
                        first=number * RANGE,
                        cycles=n_cycles,
                        chunk_size=args.chunk_size,
                    ),
                )
                print(
                    f"{base}: {n} registrants, {n_cycles} cycles of {n} entitlements "
                    f"in {time.perf_counter() - start:.0f} s (manager's chunk size "
                    f"{made['chunk_size']})",
                    flush=True,
                )
                conf_n = dict(
                    conf, manager_id=made["manager_id"], chunk_size=made["chunk_size"]
                )
                cycles = made["cycle_ids"]
                if "prepare" in args.phases:
                    rows = prepare_phase(conf_n, cycles, n, args)
                    summary.append((base, n, "prepare", rows))
                elif simple:
                    for cycle_id in cycles:
                        run(
                            "prepare",
                            dict(conf_n, cycle_id=cycle_id, variant="one_job"),
                        )
                if simple:
                    ours, _base = disburse_phase(conf_n, cycles, n, args)
                    summary.append((base, n, "disburse", ours))
                if daraja:
                    ours = daraja_phase(conf_n, n, number, args)
                    summary.append((base, n, "disburse", ours))
        print_summary(summary)
    finally:
        if not args.keep:
            for name in created:
                target.drop_db(name)
        if cluster is not None and not args.keep:
            cluster.stop()


if __name__ == "__main__":
    main()
