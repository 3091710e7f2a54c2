"""One measurement of ``bench_mpesa_scale_odoo.py``, in a process of its own.

Run by the driver as ``python bench_mpesa_scale_child.py KIND JSON``; prints
``RESULT {json}`` as its last line.  A fresh process per measurement, so its
peak RSS (VmHWM, reset once the registry is loaded) is that measurement's
alone.  Kinds: ``setup``, ``prepare`` (variants ``one_job``, ``baseline``),
``plan`` and ``worker`` (the chunked variant: the click, then queue_job
workers), ``send``, ``disburse`` and ``disburse_baseline``.  Odoo is used as a library.
"""

import gc
import json
import os
import re
import subprocess
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MANAGER = "g2p.program.payment.manager.simple.mpesa"
DEFAULT_MANAGER = "g2p.program.payment.manager.default"
AGENT, PASSWORD = "scale-agent@sim.test", "scale-secret"
SIMULATOR = REPO / "tests" / "support" / "g2p_simulators" / "simple_mpesa.py"
CREATE_SLICE = 5000
SETUP_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS bench_mpesa_scale_entitlement_partner "
    "ON g2p_entitlement (partner_id)"
)
MIB = 1024.0


# -- process memory --------------------------------------------------------------
def _status_kib(field, pid="self"):
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def rss_mib(pid="self"):
    return _status_kib("VmRSS", pid) / MIB


def peak_mib():
    return _status_kib("VmHWM") / MIB


def reset_peak():
    """Start VmHWM again from the current RSS (Linux clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


# -- Odoo ------------------------------------------------------------------------
class Odoo:
    def __init__(self, conf):
        if conf["odoo_src"] not in sys.path:
            sys.path.insert(0, conf["odoo_src"])
        import odoo  # noqa: PLC0415 - located at run time
        from odoo.tools import config  # noqa: PLC0415

        config.parse_config(
            [
                f"--addons-path={conf['addons_path']}",
                f"--db_host={conf['db_host']}",
                f"--db_port={conf['db_port']}",
                f"--db_user={conf['db_user']}",
                "-d",
                conf["db"],
                "--log-level=warn",
            ]
        )
        self.odoo = odoo
        self.registry = odoo.modules.registry.Registry(conf["db"])

    def env(self, cr, **context):
        return self.odoo.api.Environment(cr, self.odoo.SUPERUSER_ID, context)

    def cursor(self):
        return self.registry.cursor()


def settle():
    """Memory baseline of a loaded registry: garbage collected, peak reset."""
    gc.collect()
    reset_peak()
    return rss_mib()


# -- setup -----------------------------------------------------------------------
def setup(odoo, conf):
    """Program, manager, N registrants and ``cycles`` cycles of N entitlements."""
    n, first = conf["n"], conf["first"]
    Command = odoo.odoo.Command
    with odoo.cursor() as cr:
        env = odoo.env(cr, tracking_disable=True, mail_create_nolog=True)
        program = env["g2p.program"].create({"name": f"Scale benchmark {first}"})
        tag = env["g2p.payment.batch.tag"].create(
            {
                "name": "All",
                "order": 1,
                "domain": "[]",
                "max_batch_size": conf["batch_size"],
            }
        )
        manager = env[MANAGER].create(
            {
                "name": f"Scale manager {first}",
                "program_id": program.id,
                "create_batch": True,
                "batch_tag_ids": [Command.set(tag.ids)],
                "payee_id_type": "phone",
                "auth_endpoint_url": "http://127.0.0.1:9/api/login/agent",
                "payment_endpoint_url": "http://127.0.0.1:9/api/transaction/deposit",
                "username": AGENT,
                "password": PASSWORD,
            }
        )
        if conf.get("chunk_size"):
            manager.mpesa_prepare_chunk_size = conf["chunk_size"]
        chunk_size = manager.mpesa_prepare_chunk_size
        # Both bases give a new program its one payment manager: point it at ours.
        program.payment_managers[:1].manager_ref_id = manager
        program_id, manager_id = program.id, manager.id
    partner_ids = []
    for start in range(first, first + n, CREATE_SLICE):
        stop = min(start + CREATE_SLICE, first + n)
        with odoo.cursor() as cr:
            env = odoo.env(cr, tracking_disable=True, mail_create_nolog=True)
            partner_ids += (
                env["res.partner"]
                .create(
                    [
                        {
                            "name": f"Beneficiary {i}",
                            "is_registrant": True,
                            "phone": "07%08d" % i,
                        }
                        for i in range(start, stop)
                    ]
                )
                .ids
            )
    cycle_ids = []
    with odoo.cursor() as cr:
        # Setup aid, dropped below: the real base counts each registrant's
        # entitlements on every create, unindexed (a scan per entitlement).
        cr.execute(SETUP_INDEX_SQL)
    for number in range(conf["cycles"]):
        with odoo.cursor() as cr:
            env = odoo.env(cr, tracking_disable=True)
            cycle = env["g2p.cycle"].create(
                {
                    "name": f"Scale cycle {first}-{number}",
                    "program_id": program_id,
                    "start_date": date.today(),
                    "end_date": date.today(),
                }
            )
            cycle_ids.append(cycle.id)
        for start in range(0, n, CREATE_SLICE):
            with odoo.cursor() as cr:
                env = odoo.env(cr, tracking_disable=True, mail_create_nolog=True)
                env["g2p.entitlement"].create(
                    [
                        {
                            "partner_id": partner_id,
                            "cycle_id": cycle_ids[-1],
                            "initial_amount": 10 + k % 90,
                            "state": "approved",
                        }
                        for k, partner_id in enumerate(
                            partner_ids[start : start + CREATE_SLICE], start=start
                        )
                    ]
                )
    with odoo.cursor() as cr:
        cr.execute("DROP INDEX bench_mpesa_scale_entitlement_partner")
    return {"manager_id": manager_id, "cycle_ids": cycle_ids, "chunk_size": chunk_size}


def _approved_ids(cr, cycle_id):
    cr.execute(
        "SELECT id FROM g2p_entitlement WHERE cycle_id = %s AND state = 'approved' "
        "ORDER BY id",
        (cycle_id,),
    )
    return [row[0] for row in cr.fetchall()]


def figures(odoo, conf):
    """Payments, batches, largest batch, entitlements paid more than once."""
    cycle_id = conf["cycle_id"]
    with odoo.cursor() as cr:
        cr.execute(
            "SELECT count(*), count(DISTINCT batch_id) FROM g2p_payment "
            "WHERE cycle_id = %s",
            (cycle_id,),
        )
        payments, batches = cr.fetchone()
        cr.execute(
            "SELECT coalesce(max(c), 0) FROM (SELECT count(*) c FROM g2p_payment "
            "WHERE cycle_id = %s GROUP BY batch_id) s",
            (cycle_id,),
        )
        largest = cr.fetchone()[0]
        cr.execute(
            "SELECT count(*) FROM (SELECT entitlement_id FROM g2p_payment "
            "WHERE cycle_id = %s GROUP BY entitlement_id HAVING count(*) > 1) d",
            (cycle_id,),
        )
        doubles = cr.fetchone()[0]
    return {
        "payments": payments,
        "batches": batches,
        "largest_batch": largest,
        "paid_twice": doubles,
    }


# -- prepare -----------------------------------------------------------------------
def _baseline_prepare(env, manager, cycle, entitlements):
    """What the Mpesa manager did before: the base's own ``_prepare_payments``
    (upstream's one create per payment on the real base), then its writes."""
    base_prepare = type(env[DEFAULT_MANAGER])._prepare_payments
    payments, batches = base_prepare(manager, cycle, entitlements)
    if payments:
        payments.filtered("batch_id").write({"mpesa_state": "queued"})
    if batches:
        batches.write({"mpesa_manager_id": manager.id})
    return payments, batches


def prepare(odoo, conf):
    """One transaction over all entitlements, as a single queue_job runs it."""
    with odoo.cursor() as cr:
        ids = _approved_ids(cr, conf["cycle_id"])
    base = settle()
    start = time.perf_counter()
    with odoo.cursor() as cr:
        env = odoo.env(cr)
        manager = env[MANAGER].browse(conf["manager_id"])
        cycle = env["g2p.cycle"].browse(conf["cycle_id"])
        entitlements = env["g2p.entitlement"].browse(ids)
        if conf["variant"] == "baseline":
            _baseline_prepare(env, manager, cycle, entitlements)
        else:
            manager._prepare_payments(cycle, entitlements)
    seconds = time.perf_counter() - start
    return dict(
        figures(odoo, conf),
        seconds=seconds,
        peak_mib=peak_mib(),
        base_mib=base,
    )


def plan(odoo, conf):
    """The click: plan the chunks and queue the jobs (one request)."""
    with odoo.cursor() as cr:
        ids = _approved_ids(cr, conf["cycle_id"])
    base = settle()
    start = time.perf_counter()
    with odoo.cursor() as cr:
        env = odoo.env(cr)
        manager = env[MANAGER].browse(conf["manager_id"])
        cycle = env["g2p.cycle"].browse(conf["cycle_id"])
        manager._prepare_payments_async(
            cycle, env["g2p.entitlement"].browse(ids), len(ids)
        )
        cr.execute(
            "SELECT max(graph_uuid) FROM queue_job WHERE model_name = %s", (MANAGER,)
        )
        graph = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM queue_job WHERE graph_uuid = %s", (graph,))
        jobs = cr.fetchone()[0]
    return {
        "seconds": time.perf_counter() - start,
        "peak_mib": peak_mib(),
        "base_mib": base,
        "graph": graph,
        "jobs": jobs,
    }


TAKE_JOB_SQL = """
    SELECT uuid FROM queue_job
     WHERE graph_uuid = %s AND state = 'pending'
     ORDER BY id LIMIT 1
       FOR UPDATE SKIP LOCKED
"""


def worker(odoo, conf):
    """A queue_job worker: take the graph's pending jobs one at a time and run
    each as queue_job's runjob does (started and committed, performed, done
    and committed, dependants enqueued), until the graph is finished."""
    import psycopg2  # noqa: PLC0415 - comes with Odoo

    from odoo.addons.queue_job.job import Job  # noqa: PLC0415

    base = settle()
    graph, times = conf["graph"], []
    idle_since = first = last = None
    while True:
        with odoo.cursor() as cr:
            cr.execute(TAKE_JOB_SQL, (graph,))
            row = cr.fetchone()
            if not row:
                cr.execute(
                    "SELECT count(*) FROM queue_job WHERE graph_uuid = %s "
                    "AND state NOT IN ('done', 'failed')",
                    (graph,),
                )
                if not cr.fetchone()[0]:
                    break
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 300:
                    raise SystemExit("worker: the graph made no progress for 300 s")
                time.sleep(0.2)  # another worker runs the job we depend on
                continue
            idle_since = None
            job = Job.load(odoo.env(cr), row[0])
            job.set_started()
            job.store()
            cr.commit()
            first = first or time.time()
            start = time.perf_counter()
            job.perform()
            job.set_done()
            job.store()
            job.env.flush_all()
            cr.commit()
            times.append(time.perf_counter() - start)
            last = time.time()
        for attempt in range(10):
            try:
                with odoo.cursor() as cr:
                    Job.load(odoo.env(cr), row[0]).enqueue_waiting()
                break
            except psycopg2.OperationalError:
                time.sleep(0.1 * (attempt + 1))
    return {
        "jobs": len(times),
        "job_seconds": times,
        "first_start": first,
        "last_end": last,
        "peak_mib": peak_mib(),
        "base_mib": base,
    }


# -- disburse ----------------------------------------------------------------------
class Simulator:
    """The gateway simulator in a process of its own: its memory is not ours."""

    def __init__(self, port):
        self.port = port
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(SIMULATOR),
                "--port",
                str(port),
                "--agent",
                f"{AGENT}:{PASSWORD}:{10**12}",
                "--auto-register",
            ],
            stdout=subprocess.DEVNULL,
        )
        import requests  # noqa: PLC0415

        self.requests = requests
        for _attempt in range(100):
            try:
                requests.get(self.url("/_sim/state"), timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise SystemExit("the simulator did not start")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def deposits(self):
        return self.requests.get(self.url("/_sim/deposits"), timeout=60).json()

    def stop(self):
        rss = rss_mib(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return rss


def _left(cr, cycle_id):
    cr.execute(
        "SELECT count(*) FILTER (WHERE mpesa_state IN ('queued', 'sending')), "
        "count(*) FILTER (WHERE mpesa_state = 'paid') FROM g2p_payment "
        "WHERE cycle_id = %s",
        (cycle_id,),
    )
    return cr.fetchone()


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
    sim = Simulator(conf["sim_port"])
    try:
        _point_at(odoo, conf, sim)
        base = settle()
        if conf["trace"]:
            tracemalloc.start(1)
        marks, passes, paid = [], 0, 0
        checkpoints = sorted(set(conf["checkpoints"]))
        start = time.perf_counter()
        while True:
            passes += 1
            with odoo.cursor() as cr:
                odoo.env(cr)[MANAGER]._cron_disburse_due_batches()
            with odoo.cursor() as cr:
                left, paid = _left(cr, conf["cycle_id"])
            if checkpoints and (paid >= checkpoints[0] or not left):
                while checkpoints and paid >= checkpoints[0]:
                    checkpoints.pop(0)
                marks.append(_mark(paid, passes, start, conf["trace"]))
            if not left or passes >= conf["max_passes"]:
                break
        seconds = time.perf_counter() - start
        peak = peak_mib()  # before the sanity read of every deposit below
        if conf["trace"]:
            tracemalloc.stop()
        deposits = sim.deposits()
    finally:
        sim_rss = sim.stop()
    counts = deposits["counts"]
    return {
        "seconds": seconds,
        "passes": passes,
        "paid": paid,
        "marks": marks,
        "peak_mib": peak,
        "base_mib": base,
        "sim_rss_mib": sim_rss,
        "sim_deposits": len(deposits["deposits"]),
        "accounts_paid_once": sum(1 for c in counts.values() if c == 1),
        "accounts_paid_twice": sum(1 for c in counts.values() if c > 1),
    }


def disburse_baseline(odoo, conf):
    """Upstream style: every batch sent in one request and one transaction
    (login per batch, a new connection per deposit, ORM writes, one COMMIT)."""
    import requests  # noqa: PLC0415

    sim = Simulator(conf["sim_port"])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        _point_at(odoo, conf, sim)
        base = settle()
        start = time.perf_counter()
        with odoo.cursor() as cr:
            env = odoo.env(cr)
            manager = env[MANAGER].browse(conf["manager_id"])
            for batch in env["g2p.cycle"].browse(conf["cycle_id"]).payment_batch_ids:
                login = requests.post(
                    sim.url("/api/login/agent"),
                    data={"email": AGENT, "password": PASSWORD},
                    headers=form,
                    timeout=10,
                )
                token = login.json()["token"]
                for payment in batch.payment_ids:
                    amount = int(payment.amount_issued)
                    requests.post(
                        sim.url("/api/transaction/deposit"),
                        headers=dict(form, Authorization="Bearer " + token),
                        data={
                            "amount": amount,
                            "accountNo": manager._mpesa_payee_account(payment),
                            "customerType": "subscriber",
                        },
                        timeout=10,
                    ).raise_for_status()
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
    mark = {
        "paid": paid,
        "passes": passes,
        "seconds": time.perf_counter() - start,
        "rss_mib": rss_mib(),
    }
    if trace:
        mark["traced_kib"] = tracemalloc.get_traced_memory()[0] / 1024.0
        gc.collect()
        mark["traced_after_gc_kib"] = tracemalloc.get_traced_memory()[0] / 1024.0
    return mark


KINDS = {
    "setup": setup,
    "figures": figures,
    "prepare": prepare,
    "plan": plan,
    "worker": worker,
    "send": send,
    "disburse": disburse,
    "disburse_baseline": disburse_baseline,
}


def main():
    kind, conf = sys.argv[1], json.loads(sys.argv[2])
    odoo = Odoo(conf)
    result = KINDS[kind](odoo, conf)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # no registry teardown: nothing of it is measured


if __name__ == "__main__":
    main()
