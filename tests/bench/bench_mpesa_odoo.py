"""Benchmark: the real Odoo path of g2p_payment_simple_mpesa vs an upstream-style send.

Unlike ``bench_mpesa.py`` (engine + lean SQL store), this drives the installed
addon through Odoo used as a library, in one process and one database:

* ours: a cycle of N registrants/entitlements, payments prepared in batches by
  the manager, batches sent (marked due), then ``_cron_disburse_due_batches``
  called pass after pass (each pass in a fresh cursor, like a cron worker) until
  no payment of the cycle is queued.  Real COMMITs: before every request and
  right after every answer (counted by wrapping ``_mpesa_commit`` and
  ``Cursor.commit``).  Afterwards: every payment paid, one deposit per account.
* baseline (upstream style), on a fresh cycle of the same size: per batch one
  login, then per payment a plain ``requests.post`` of the deposit form (no
  Session: a new connection each time) and ``state``/``status``/``amount_paid``/
  ``payment_datetime`` set through the ORM; a single COMMIT at the end.

Both talk to an in-process ``SimulatorServer`` (default 20 ms per deposit).
A 20-payment warm-up of each runs first; then ours, then the baseline.
Columns: wall time, payments/s, ms per payment and beyond the gateway latency,
cursor COMMITs during the timed part, and where the time per payment goes:
inside the deposit request (client side), inside COMMITs (including the ORM
flush they trigger), and the rest (ORM reads/writes, claim queries, Python).
Peak traced memory (tracemalloc) of ours is measured in two extra runs at N/5
and N payments with 0 ms latency (tracemalloc slows Odoo a lot; these runs are
not timed): what is held at the end of the run, and what is retained after
``gc.collect()`` (Odoo records and requests' responses form reference cycles
that only the collector frees: the ~1.2 KB per payment once reported here
were such cycles, not a leak); the simulator's own per-deposit records are
shown apart, the lines whose retained memory grew most are listed, and RSS
is printed too.  ``bench_mpesa_scale_odoo.py`` measures 10,000 to 100,000
payments over many bounded cron passes.  ``--profile K`` adds an
untimed cProfile run of ours (N/5 payments).  Prints numbers; the only checks
are the sanity ones (every payment paid, one deposit per account).

Usage::

    /work/venv/bin/python tests/bench/bench_mpesa_odoo.py --create-db \\
        [--payments 2000] [--latency-ms 20] [--batch-size 500] [--keep-db] \\
        [--db h8_bench_mpesa] [--odoo-src /work/odoo17] [--no-memory] \\
        [--profile 15] [--db_host /tmp/pgdev --db_port 5432 --db_user odoo]

Without ``--create-db``, ``--db`` must name a database where
``g2p_payment_simple_mpesa`` is installed; the benchmark's program, cycles and
payments are committed into it (it is never dropped).  With ``--create-db``
the database is created with ``odoo-bin -i g2p_payment_simple_mpesa`` and
dropped at the end unless ``--keep-db``.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))

from g2p_bench.odoo_lib import install_module  # noqa: E402
from mpesa_odoo_bench import Bench, db_args  # noqa: E402
from mpesa_odoo_report import memory_report, profile_ours, report  # noqa: E402

DEFAULT_ADDONS = ",".join(
    [
        "/work/odoo17/addons",
        str(REPO / "openg2p_base_standin"),
        str(REPO),
    ]
)
MODULE = "g2p_payment_simple_mpesa"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--odoo-src", default="/work/odoo17")
    parser.add_argument("--addons-path", default=DEFAULT_ADDONS)
    parser.add_argument("--db", default=None, help="default h8_bench_mpesa_<pid>")
    parser.add_argument("--db_host", default="/tmp/pgdev")
    parser.add_argument("--db_port", default="5432")
    parser.add_argument("--db_user", default="odoo")
    parser.add_argument("--create-db", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="K",
        help="profile ours in an extra untimed run (N/5 payments, cProfile) and "
        "print its top K functions by own time",
    )
    args = parser.parse_args(argv)
    if args.db is None:
        args.db = f"h8_bench_mpesa_{os.getpid()}"
    if args.payments < 5:
        parser.error("--payments must be at least 5")
    return args


def _admin_connection(args):
    import psycopg2  # noqa: PLC0415 - comes with Odoo

    conn = psycopg2.connect(
        dbname="postgres",
        host=args.db_host,
        port=int(args.db_port),
        user=args.db_user,
    )
    conn.autocommit = True
    return conn


def check_db_absent(args):
    conn = _admin_connection(args)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.db,))
        exists = cur.fetchone()
    conn.close()
    if exists:
        # It would be dropped at the end: never take over a database we did not make.
        raise SystemExit(
            f"database {args.db} already exists; drop it or run without --create-db"
        )


def create_db(args):
    seconds = install_module(args.odoo_src, db_args(args), args.db, MODULE)
    print(f"created database {args.db} in {seconds:.0f} s")


def drop_db(args):
    conn = _admin_connection(args)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    conn.close()
    print(f"dropped database {args.db}")


def main(argv=None):
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C: stop the simulator, drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    created = False
    bench = None
    try:
        if args.create_db:
            check_db_absent(args)
            created = True  # a failed install still leaves a database to drop
            create_db(args)
        bench = Bench(args)
        # Warm-up: imports, ORM caches, connection paths of both variants.
        bench.run_ours(20)
        bench.run_baseline(20)
        ours = bench.run_ours(args.payments)
        base = bench.run_baseline(args.payments)
        # Timings first: the traced runs below are slow.
        report(args, ours, base)
        if not args.no_memory:
            bench.sim.state.latency = 0.0
            sizes = (args.payments // 5, args.payments)
            mem = [(size, bench.run_ours(size, trace=True)) for size in sizes]
            memory_report(mem)
        if args.profile:
            bench.sim.state.latency = args.latency_ms / 1000.0
            profile_ours(bench, max(args.payments // 5, 5), args.profile)
    finally:
        if bench is not None:
            bench.close()
        if created and not args.keep_db:
            drop_db(args)


if __name__ == "__main__":
    main()
