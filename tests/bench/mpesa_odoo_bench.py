"""The measured side of ``bench_mpesa_odoo.py``: Odoo as a library, one program.

``Bench`` loads the registry, starts an in-process simulator, counts COMMITs,
queries and time in deposits, and runs each variant on a fresh cycle: ours
(the cron, pass after pass) and the upstream-style baseline (one commit at
the end), each followed by the sanity check (all paid, one deposit each).
"""

import gc
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))  # the simulator, g2p_bench

from g2p_bench import procmem, upstream  # noqa: E402
from g2p_bench.mpesa_program import MANAGER, create_mpesa_program  # noqa: E402
from g2p_bench.odoo_lib import load_registry  # noqa: E402

AGENT, PASSWORD = "bench-agent@sim.test", "bench-secret"
# Distinct phone-number ranges per run, so deposit counts per account never mix.
RANGE = 1_000_000
TRACE_FRAMES = 30


def db_args(args):
    return [
        f"--addons-path={args.addons_path}",
        f"--db_host={args.db_host}",
        f"--db_port={args.db_port}",
        f"--db_user={args.db_user}",
    ]


class Bench:
    def __init__(self, args):
        self.args = args
        self.odoo, self.registry = load_registry(args.odoo_src, db_args(args), args.db)
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
        with self.registry.cursor() as cr:
            program, manager = create_mpesa_program(
                self.env(cr),
                "Mpesa Odoo benchmark",
                "Bench",
                self.args.batch_size,
                name="Mpesa benchmark manager",
                auth_endpoint_url=self.sim.auth_url,
                payment_endpoint_url=self.sim.payment_url,
                api_timeout=10,
                username=AGENT,
                password=PASSWORD,
                # One pass may pay everything; the time budget is raised too.
                mpesa_payments_per_run=10**7,
            )
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
            "rss_mib": procmem.rss_mib(),
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
                token = upstream.login(
                    auth_url, manager.username, manager.password, timeout
                )
                done = 0
                for payment in batch.payment_ids:
                    if payment.state != "issued" or payment.status == "paid":
                        continue
                    account = manager._mpesa_payee_account(payment)
                    amount = int(payment.amount_issued)
                    sent = time.perf_counter()
                    upstream.deposit(
                        pay_url, token, amount, account, customer_type, timeout
                    )
                    self.timers["http"] += time.perf_counter() - sent
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
