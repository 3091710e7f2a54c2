"""The disburse measurements of ``bench_mpesa_scale_child.py``: ours (bounded
cron passes in one long-lived process) and the upstream-style baseline, both
against the gateway simulator in a process of its own."""

import contextlib
import cProfile
import gc
import os
import time
import tracemalloc

import requests
from g2p_bench import upstream
from g2p_bench.procmem import peak_mib, rss_mib
from g2p_bench.simulator import start_simulator
from mpesa_scale_common import AGENT, MANAGER, PASSWORD, settle


class Simulator:
    """The gateway simulator in a process of its own: its memory is not ours."""

    def __init__(self, port, latency_ms=0.0):
        self.port = port
        self.proc = start_simulator(port, AGENT, PASSWORD, latency_ms or None)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def deposits(self):
        return requests.get(self.url("/_sim/deposits"), timeout=60).json()

    def stop(self):
        rss = rss_mib(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return rss


def _left(cr, cycle_id):
    """Payments still open (queued, sending, awaiting a result) and paid."""
    cr.execute(
        "SELECT count(*) FILTER (WHERE mpesa_state IN ('queued', 'sending', "
        "'accepted')), count(*) FILTER (WHERE mpesa_state = 'paid') FROM g2p_payment "
        "WHERE cycle_id = %s",
        (cycle_id,),
    )
    return cr.fetchone()


def states(cr, cycle_id):
    cr.execute(
        "SELECT mpesa_state, count(*) FROM g2p_payment WHERE cycle_id = %s GROUP BY 1",
        (cycle_id,),
    )
    return dict(cr.fetchall())


@contextlib.contextmanager
def _profiled(conf):
    """cProfile the cron passes into ``conf["profile"]`` (diagnosis only)."""
    if not conf.get("profile"):
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        path = f"{conf['profile']}.{os.getpid()}.{time.monotonic_ns()}"
        profile.dump_stats(path)


def drive_cron(odoo, conf, after_pass=None):
    """The cron entry point called pass after pass in this long-lived process
    (a cron worker) until nothing is open; ``after_pass()`` runs between two
    passes (Daraja: the results the gateway posted meanwhile).  Checkpoints
    of memory at ``conf["checkpoints"]`` payments paid."""
    base = settle()
    trace, top = conf["trace"], conf.get("trace_top") or 0
    if trace:
        tracemalloc.start(conf.get("trace_frames") or 1)
    marks, passes, paid, first_snapshot = [], 0, 0, None
    checkpoints = sorted(set(conf["checkpoints"]))
    split = {"cron_seconds": 0.0, "after_pass_seconds": 0.0}
    start = time.perf_counter()
    while True:
        passes += 1
        lap = time.perf_counter()
        with odoo.cursor() as cr, _profiled(conf):
            odoo.env(cr)[MANAGER]._cron_disburse_due_batches()
        split["cron_seconds"] += time.perf_counter() - lap
        if after_pass is not None:
            lap = time.perf_counter()
            after_pass()
            split["after_pass_seconds"] += time.perf_counter() - lap
        with odoo.cursor() as cr:
            left, paid = _left(cr, conf["cycle_id"])
        if checkpoints and (paid >= checkpoints[0] or not left):
            while checkpoints and paid >= checkpoints[0]:
                checkpoints.pop(0)
            marks.append(_mark(paid, passes, start, trace))
            if trace and top and first_snapshot is None:
                first_snapshot = tracemalloc.take_snapshot()
        if not left or passes >= conf["max_passes"]:
            break
    seconds = time.perf_counter() - start
    peak = peak_mib()  # before the sanity reads below
    growth = []
    if first_snapshot is not None:
        growth = _top_growth(first_snapshot, tracemalloc.take_snapshot(), top)
    if trace:
        tracemalloc.stop()
    with odoo.cursor() as cr:
        by_state = states(cr, conf["cycle_id"])
    return dict(
        split,
        seconds=seconds,
        passes=passes,
        paid=paid,
        marks=marks,
        peak_mib=peak,
        base_mib=base,
        states=by_state,
        top_growth=growth,
    )


def _top_growth(before, after, top):
    """Where traced memory grew most between two snapshots (innermost first)."""
    stats = after.compare_to(before, "traceback")
    return [
        [
            " < ".join(str(frame) for frame in reversed(stat.traceback)),
            stat.size_diff,
            stat.count_diff,
        ]
        for stat in stats[:top]
    ]


def _point_at(odoo, conf, sim):
    with odoo.cursor() as cr:
        env = odoo.env(cr)
        manager = env[MANAGER].browse(conf["manager_id"])
        manager.write(
            {
                "auth_endpoint_url": sim.url("/api/login/agent"),
                "payment_endpoint_url": sim.url("/api/transaction/deposit"),
                "mpesa_payments_per_run": conf["per_run"],
            }
        )
        return manager


def send(odoo, conf):
    """What Send Payments does (without the job the base queues for it)."""
    with odoo.cursor() as cr:
        env = odoo.env(cr)
        batches = env["g2p.cycle"].browse(conf["cycle_id"]).payment_batch_ids
        env[MANAGER].browse(conf["manager_id"])._mpesa_queue_batches(batches)
        return {"batches": len(batches)}


def disburse(odoo, conf):
    """Repeated bounded cron passes in one long-lived worker process."""
    sim = Simulator(conf["sim_port"], conf.get("latency_ms"))
    try:
        _point_at(odoo, conf, sim)
        run = drive_cron(odoo, conf)
        deposits = sim.deposits()
    finally:
        sim_rss = sim.stop()
    counts = deposits["counts"]
    return dict(
        run,
        gateway="simple-mpesa",
        sim_rss_mib=sim_rss,
        sim_deposits=len(deposits["deposits"]),
        accounts_paid_once=sum(1 for c in counts.values() if c == 1),
        accounts_paid_twice=sum(1 for c in counts.values() if c > 1),
    )


def disburse_baseline(odoo, conf):
    """Upstream style: every batch sent in one request and one transaction
    (login per batch, a new connection per deposit, ORM writes, one COMMIT)."""
    sim = Simulator(conf["sim_port"], conf.get("latency_ms"))
    try:
        _point_at(odoo, conf, sim)
        base = settle()
        start = time.perf_counter()
        with odoo.cursor() as cr:
            env = odoo.env(cr)
            manager = env[MANAGER].browse(conf["manager_id"])
            for batch in env["g2p.cycle"].browse(conf["cycle_id"]).payment_batch_ids:
                token = upstream.login(sim.url("/api/login/agent"), AGENT, PASSWORD)
                for payment in batch.payment_ids:
                    amount = int(payment.amount_issued)
                    upstream.deposit(
                        sim.url("/api/transaction/deposit"),
                        token,
                        amount,
                        manager._mpesa_payee_account(payment),
                    )
                    payment.write(
                        {
                            "state": "sent",
                            "status": "paid",
                            "amount_paid": amount,
                            "payment_datetime": odoo.odoo.fields.Datetime.now(),
                        }
                    )
                batch.batch_has_completed = True
        seconds = time.perf_counter() - start
        peak = peak_mib()
        deposits = sim.deposits()
    finally:
        sim_rss = sim.stop()
    return {
        "seconds": seconds,
        "peak_mib": peak,
        "base_mib": base,
        "sim_rss_mib": sim_rss,
        "sim_deposits": len(deposits["deposits"]),
    }


def _mark(paid, passes, start, trace):
    """Memory now, and after ``gc.collect()``: what is retained, not garbage."""
    mark = {
        "paid": paid,
        "passes": passes,
        "seconds": time.perf_counter() - start,
        "rss_mib": rss_mib(),
    }
    if trace:
        mark["traced_kib"] = tracemalloc.get_traced_memory()[0] / 1024.0
    gc.collect()
    mark["rss_after_gc_mib"] = rss_mib()
    if trace:
        mark["traced_after_gc_kib"] = tracemalloc.get_traced_memory()[0] / 1024.0
    return mark
