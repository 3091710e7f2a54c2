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
import cProfile
import gc
import io
import os
import pstats
import signal
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ADDONS = ",".join(
    [
        "/work/odoo17/addons",
        str(REPO / "openg2p_base_standin"),
        str(REPO),
    ]
)
MANAGER = "g2p.program.payment.manager.simple.mpesa"
MODULE = "g2p_payment_simple_mpesa"
AGENT, PASSWORD = "bench-agent@sim.test", "bench-secret"
# Distinct phone-number ranges per run, so deposit counts per account never mix.
RANGE = 1_000_000
TRACE_FRAMES = 30
# The in-process simulator keeps per-deposit records; its memory is not ours.
SIM_FILE = "*/g2p_simulators/simple_mpesa.py"
SIM_FILTER = tracemalloc.Filter(True, SIM_FILE, all_frames=True)


def _rss_mib():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


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


def db_args(args):
    return [
        f"--addons-path={args.addons_path}",
        f"--db_host={args.db_host}",
        f"--db_port={args.db_port}",
        f"--db_user={args.db_user}",
    ]


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
    cmd = [
        sys.executable,
        str(Path(args.odoo_src) / "odoo-bin"),
        *db_args(args),
        "-d",
        args.db,
        "-i",
        MODULE,
        "--stop-after-init",
        "--without-demo=all",
        "--log-level=warn",
        "--no-http",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"installing {MODULE} into {args.db} failed")
    print(f"created database {args.db} in {time.perf_counter() - start:.0f} s")


def drop_db(args):
    conn = _admin_connection(args)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    conn.close()
    print(f"dropped database {args.db}")


class Bench:
    def __init__(self, args):
        self.args = args
        if args.odoo_src not in sys.path:
            sys.path.insert(0, args.odoo_src)
        sys.path.insert(0, str(REPO / "tests" / "support"))  # the simulator
        import odoo  # noqa: PLC0415 - Odoo is located at run time
        from odoo.tools import config  # noqa: PLC0415

        config.parse_config([*db_args(args), "-d", args.db, "--log-level=warn"])
        self.odoo = odoo
        self.registry = odoo.modules.registry.Registry(args.db)
        from g2p_simulators.simple_mpesa import (  # noqa: PLC0415
            SimulatorServer,
        )

        self.sim = SimulatorServer(
            agents=[(AGENT, PASSWORD, 10**12)],
            auto_register=True,
            latency=args.latency_ms / 1000.0,
        )
        self.sim.start()
        self.run_no = 0
        self.commits = {"mpesa": 0, "cursor": 0, "queries": 0}
        self.timers = {"http": 0.0, "commit": 0.0}
        self._counting = False
        self._install_counters()
        self.program_id, self.manager_id = self._setup()

    # -- plumbing --------------------------------------------------------------------
    def env(self, cr):
        # Prepare and Send queue jobs for big cycles on both bases: run them
        # in place (queue_job's own switch), as the job runner would.
        return self.odoo.api.Environment(
            cr, self.odoo.SUPERUSER_ID, {"queue_job__no_delay": True}
        )

    def _install_counters(self):
        bench = self
        manager_cls = self.registry[MANAGER]
        mpesa_commit = manager_cls._mpesa_commit

        def counted_mpesa_commit(self):
            if bench._counting:
                bench.commits["mpesa"] += 1
            return mpesa_commit(self)

        manager_cls._mpesa_commit = counted_mpesa_commit
        cursor_cls = self.odoo.sql_db.Cursor
        cursor_commit = cursor_cls.commit

        def counted_commit(self):
            if not bench._counting:
                return cursor_commit(self)
            bench.commits["cursor"] += 1
            start = time.perf_counter()
            try:
                return cursor_commit(self)  # flushes pending ORM writes first
            finally:
                bench.timers["commit"] += time.perf_counter() - start

        cursor_cls.commit = counted_commit
        cursor_execute = cursor_cls.execute

        def counted_execute(self, *args, **kwargs):
            if bench._counting:
                bench.commits["queries"] += 1
            return cursor_execute(self, *args, **kwargs)

        cursor_cls.execute = counted_execute
        from odoo.addons.g2p_payment_simple_mpesa.mpesa import (  # noqa: PLC0415
            client as mpesa_client,
        )

        client_cls = mpesa_client.SimpleMpesaClient
        deposit = client_cls.deposit

        def timed_deposit(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return deposit(self, *args, **kwargs)
            finally:
                bench.timers["http"] += time.perf_counter() - start

        client_cls.deposit = timed_deposit

    def _setup(self):
        Command = self.odoo.Command
        with self.registry.cursor() as cr:
            env = self.env(cr)
            program = env["g2p.program"].create({"name": "Mpesa Odoo benchmark"})
            tag = env["g2p.payment.batch.tag"].create(
                {
                    "name": "Bench",
                    "order": 1,
                    "domain": "[]",
                    "max_batch_size": self.args.batch_size,
                }
            )
            manager = env[MANAGER].create(
                {
                    "name": "Mpesa benchmark manager",
                    "program_id": program.id,
                    "create_batch": True,
                    "batch_tag_ids": [Command.set(tag.ids)],
                    "payee_id_type": "phone",
                    "auth_endpoint_url": self.sim.auth_url,
                    "payment_endpoint_url": self.sim.payment_url,
                    "api_timeout": 10,
                    "username": AGENT,
                    "password": PASSWORD,
                    # One pass may pay everything; the time budget is raised too.
                    "mpesa_payments_per_run": 10**7,
                }
            )
            if program.payment_managers:
                # Both bases give a new program its one payment manager.
                program.payment_managers[:1].manager_ref_id = manager
            else:
                program.payment_managers = [
                    Command.create(
                        {
                            "program_id": program.id,
                            "manager_ref_id": f"{MANAGER},{manager.id}",
                        }
                    )
                ]
            return program.id, manager.id

    def make_cycle(self, n):
        """A cycle with n registrants, approved entitlements and prepared payments."""
        self.run_no += 1
        first = self.run_no * RANGE
        with self.registry.cursor() as cr:
            env = self.env(cr)
            env = env(
                context=dict(env.context, tracking_disable=True, mail_create_nolog=True)
            )
            today = datetime.now().date()
            cycle = env["g2p.cycle"].create(
                {
                    "name": f"Bench cycle {self.run_no}",
                    "program_id": self.program_id,
                    "start_date": today,
                    "end_date": today,
                }
            )
            partners = env["res.partner"].create(
                [
                    {
                        "name": f"Bench beneficiary {i}",
                        "is_registrant": True,
                        "phone": "07%08d" % i,
                    }
                    for i in range(first, first + n)
                ]
            )
            env["g2p.entitlement"].create(
                [
                    {
                        "partner_id": partner.id,
                        "cycle_id": cycle.id,
                        "initial_amount": 10 + k % 90,
                        "state": "approved",
                    }
                    for k, partner in enumerate(partners)
                ]
            )
            cycle.prepare_payment()
            accounts = {"2547%08d" % i for i in range(first, first + n)}
            return cycle.id, accounts

    # -- ours --------------------------------------------------------------------------
    def run_ours(self, n, trace=False):
        cycle_id, accounts = self.make_cycle(n)
        with self.registry.cursor() as cr:
            self.env(cr)["g2p.cycle"].browse(cycle_id).send_payment()
        self.commits = {"mpesa": 0, "cursor": 0, "queries": 0}
        self.timers = {"http": 0.0, "commit": 0.0}
        requests_before = self.sim.requests
        if trace:
            # Deep enough to see whether an allocation came from the simulator.
            tracemalloc.start(TRACE_FRAMES)
        self._counting = True
        start = time.perf_counter()
        passes = 0
        while True:
            passes += 1
            with self.registry.cursor() as cr:
                env = self.env(cr)
                env[MANAGER].with_context(
                    mpesa_time_budget=86400
                )._cron_disburse_due_batches()
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT count(*) FROM g2p_payment WHERE cycle_id = %s "
                    "AND mpesa_state IN ('queued', 'sending')",
                    (cycle_id,),
                )
                left = cr.fetchone()[0]
            if not left or passes >= 50:
                break
        elapsed = time.perf_counter() - start
        self._counting = False
        peak = snapshot = held = None
        if trace:
            held, peak = tracemalloc.get_traced_memory()
            # Odoo's records and requests' responses form reference cycles that
            # only the collector frees; what survives it is really retained.
            gc.collect()
            snapshot = tracemalloc.take_snapshot()
            tracemalloc.stop()
        self._check(cycle_id, accounts, n, "ours")
        return {
            "seconds": elapsed,
            "passes": passes,
            "commits": dict(self.commits),
            "timers": dict(self.timers),
            "requests": self.sim.requests - requests_before,
            "peak": peak,
            "held": held,
            "snapshot": snapshot,
            "rss_mib": _rss_mib(),
        }

    # -- baseline ----------------------------------------------------------------------
    def run_baseline(self, n):
        cycle_id, accounts = self.make_cycle(n)
        self._counting = True
        self.commits = {"mpesa": 0, "cursor": 0, "queries": 0}
        self.timers = {"http": 0.0, "commit": 0.0}
        with self.registry.cursor() as cr:
            env = self.env(cr)
            manager = env[MANAGER].browse(self.manager_id)
            auth_url, pay_url = manager.auth_endpoint_url, manager.payment_endpoint_url
            timeout = manager.api_timeout
            customer_type = manager.customer_type
            cycle = env["g2p.cycle"].browse(cycle_id)
            start = time.perf_counter()
            for batch in cycle.payment_batch_ids:
                if batch.batch_has_started:
                    continue
                batch.batch_has_started = True
                login = requests.post(
                    auth_url,
                    data={"email": manager.username, "password": manager.password},
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    timeout=timeout,
                )
                login.raise_for_status()
                token = login.json().get("token")
                done = 0
                for payment in batch.payment_ids:
                    if payment.state != "issued" or payment.status == "paid":
                        continue
                    account = manager._mpesa_payee_account(payment)
                    amount = int(payment.amount_issued)
                    sent = time.perf_counter()
                    response = requests.post(
                        pay_url,
                        headers={
                            "Authorization": "Bearer " + token,
                            "Content-Type": "application/x-www-form-urlencoded",
                        },
                        data={
                            "amount": amount,
                            "accountNo": account,
                            "customerType": customer_type,
                        },
                        timeout=timeout,
                    )
                    self.timers["http"] += time.perf_counter() - sent
                    response.raise_for_status()
                    payment.state = "sent"
                    payment.status = "paid"
                    payment.amount_paid = amount
                    payment.payment_datetime = datetime.utcnow()
                    done += 1
                if done == len(batch.payment_ids):
                    batch.batch_has_completed = True
            cr.commit()  # upstream: the request's single commit, at the very end
            elapsed = time.perf_counter() - start
            self._counting = False
        self._check(cycle_id, accounts, n, "baseline", mpesa=False)
        return {
            "seconds": elapsed,
            "commits": dict(self.commits),
            "timers": dict(self.timers),
        }

    # -- sanity ------------------------------------------------------------------------
    def _check(self, cycle_id, accounts, n, label, mpesa=True):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FILTER (WHERE status = 'paid' AND state = 'sent'), "
                "count(*) FILTER (WHERE mpesa_state = 'paid'), count(*) "
                "FROM g2p_payment WHERE cycle_id = %s",
                (cycle_id,),
            )
            paid, mpesa_paid, total = cr.fetchone()
        problems = []
        if total != n or paid != n:
            problems.append(f"{paid}/{total} payments paid, expected {n}")
        if mpesa and mpesa_paid != n:
            problems.append(f"{mpesa_paid}/{n} payments in mpesa state paid")
        counts = self.sim.deposit_counts()
        wrong = {a: counts.get(a, 0) for a in accounts if counts.get(a, 0) != 1}
        if wrong:
            sample = dict(list(wrong.items())[:5])
            problems.append(f"{len(wrong)} accounts not paid exactly once: {sample}")
        if problems:
            raise SystemExit(f"{label}: " + "; ".join(problems))

    def close(self):
        self.sim.stop()
        self.registry.delete(self.args.db)
        self.odoo.sql_db.close_db(self.args.db)


def report(args, ours, base):
    n, latency = args.payments, args.latency_ms
    rows = []
    for name, data in (
        ("baseline (upstream style)", base),
        ("ours (Odoo cron, commits)", ours),
    ):
        secs = data["seconds"]
        per = secs / n * 1000.0
        http = data["timers"]["http"] / n * 1000.0
        commit = data["timers"]["commit"] / n * 1000.0
        rows.append(
            (name, secs, n / secs, per, per - latency, data["commits"]["cursor"])
            + (http, commit, per - http - commit)
        )
    print()
    print(
        f"{n} payments, batches of {args.batch_size}, gateway latency {latency:g} ms "
        f"(in-process simulator)"
    )
    print(
        f"{'variant':<26} {'seconds':>7} {'pay/s':>6} {'ms/pay':>6} "
        f"{'beyond latency':>14} {'COMMITs':>7} | ms/pay in: {'deposit':>7} "
        f"{'COMMIT':>6} {'rest':>5}"
    )
    for name, secs, rate, per, beyond, commits, http, commit, rest in rows:
        print(
            f"{name:<26} {secs:>7.2f} {rate:>6.1f} {per:>6.2f} {beyond:>14.2f} "
            f"{commits:>7} |            {http:>7.2f} {commit:>6.2f} {rest:>5.2f}"
        )
    ratio = rows[1][2] / rows[0][2] * 100.0
    print(
        f"ours throughput = {ratio:.1f} % of baseline (goal: >= 80 %); "
        f"ours: {ours['commits']['mpesa']} _mpesa_commit calls "
        f"({ours['commits']['mpesa'] / n:.2f}/payment), "
        f"{ours['commits']['cursor']} cursor COMMITs in all, "
        f"SQL queries/payment {ours['commits']['queries'] / n:.1f} "
        f"(baseline {base['commits']['queries'] / n:.1f}), "
        f"{ours['passes']} cron pass(es), {ours['requests']} gateway requests"
    )
    print(
        "deposit = time in the deposit request (client side); COMMIT = time in "
        "cursor commits incl. their ORM flush; rest = ORM, claims, Python"
    )
    print(
        "sanity: every payment paid, exactly one deposit per account (both)",
        flush=True,
    )


def profile_ours(bench, n, top):
    profiler = cProfile.Profile()
    profiler.enable()
    bench.run_ours(n)
    profiler.disable()
    print()
    print(f"cProfile of ours, {n} payments, top {top} by own time:")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print("\n".join(line for line in lines[start:] if line.strip()))


def _split_sim(snapshot):
    total = sum(stat.size for stat in snapshot.statistics("filename"))
    sim = sum(
        stat.size
        for stat in snapshot.filter_traces([SIM_FILTER]).statistics("filename")
    )
    return total, sim


def memory_report(mem):
    (small_n, small), (big_n, big) = mem
    small_snap, big_snap = small["snapshot"], big["snapshot"]
    print()
    print("ours, tracemalloc (0 ms latency, untimed runs), KiB:")
    print(
        f"{'payments':>8} {'peak':>8} {'held at end':>11} {'after gc':>9} "
        f"{'of which simulator':>19} {'RSS MiB':>8}"
    )
    for n, data in mem:
        total, sim = _split_sim(data["snapshot"])
        print(
            f"{n:>8} {data['peak'] / 1024:>8.0f} {data['held'] / 1024:>11.0f} "
            f"{total / 1024:>9.0f} {sim / 1024:>19.0f} {data['rss_mib']:>8.0f}"
        )
    total_small, sim_small = _split_sim(small_snap)
    total_big, sim_big = _split_sim(big_snap)
    own_growth = (total_big - sim_big) - (total_small - sim_small)
    span = max(big_n - small_n, 1)
    print(
        f"peak ratio {big_n}/{small_n} payments: {big['peak'] / small['peak']:.2f}; "
        f"held at the end grows by {(big['held'] - small['held']) / span:.0f} "
        f"bytes/payment (collectable cycles included); after gc.collect(), "
        f"retained outside the simulator grows by {own_growth / span:.0f} "
        f"bytes/payment"
    )
    not_sim = [tracemalloc.Filter(False, SIM_FILE, all_frames=True)]
    diff = big_snap.filter_traces(not_sim).compare_to(
        small_snap.filter_traces(not_sim), "traceback"
    )
    growth = {}
    for stat in diff:
        # Innermost line, and the innermost line of this project that led there.
        inner = stat.traceback[-1]
        ours = next(
            (f for f in reversed(stat.traceback) if str(REPO) in f.filename), None
        )
        key = (
            f"{_short(inner.filename)}:{inner.lineno}",
            f"{_short(ours.filename)}:{ours.lineno}" if ours else "-",
        )
        growth[key] = growth.get(key, 0) + stat.size_diff
    print("largest retained growth outside the simulator (line <- project line):")
    for (inner, ours), size in sorted(growth.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {size / 1024:>+8.0f} KiB  {inner}  <-  {ours}", flush=True)


def _short(path):
    if path.startswith(str(REPO) + "/"):
        return path[len(str(REPO)) + 1 :]
    for marker in ("/odoo/", "/site-packages/", "/lib/python"):
        if marker in path:
            return path[path.index(marker) + 1 :]
    return path


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
