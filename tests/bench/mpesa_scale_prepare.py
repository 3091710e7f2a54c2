"""Set-up and the prepare measurements of ``bench_mpesa_scale_child.py``.

``setup`` makes the program, registrants and cycles; ``prepare`` runs one
transaction (ours or the upstream-style baseline); ``plan`` and ``worker``
are the chunked variant: the click, then queue_job workers taking its jobs.
"""

import time
from datetime import date

from g2p_bench.mpesa_program import create_mpesa_program
from g2p_bench.procmem import peak_mib
from mpesa_scale_common import (
    AGENT,
    DEFAULT_MANAGER,
    MANAGER,
    PASSWORD,
    approved_ids,
    settle,
)

CREATE_SLICE = 5000
SETUP_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS bench_mpesa_scale_entitlement_partner "
    "ON g2p_entitlement (partner_id)"
)
DROP_SETUP_INDEX_SQL = "DROP INDEX bench_mpesa_scale_entitlement_partner"


def setup(odoo, conf):
    """Program, manager, N registrants and ``cycles`` cycles of N entitlements."""
    n, first = conf["n"], conf["first"]
    with odoo.cursor() as cr:
        env = odoo.env(cr, tracking_disable=True, mail_create_nolog=True)
        program, manager = create_mpesa_program(
            env,
            f"Scale benchmark {first}",
            "All",
            conf["batch_size"],
            name=f"Scale manager {first}",
            auth_endpoint_url="http://127.0.0.1:9/api/login/agent",
            payment_endpoint_url="http://127.0.0.1:9/api/transaction/deposit",
            username=AGENT,
            password=PASSWORD,
        )
        if conf.get("chunk_size"):
            manager.mpesa_prepare_chunk_size = conf["chunk_size"]
        chunk_size = manager.mpesa_prepare_chunk_size
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
        cycle_ids.append(
            approved_cycle(
                odoo, program_id, f"Scale cycle {first}-{number}", partner_ids
            )
        )
    with odoo.cursor() as cr:
        cr.execute(DROP_SETUP_INDEX_SQL)
    return {"manager_id": manager_id, "cycle_ids": cycle_ids, "chunk_size": chunk_size}


def approved_cycle(odoo, program_id, name, partner_ids):
    """A cycle of one approved entitlement per partner, made a slice per
    transaction (run between SETUP_INDEX_SQL and DROP_SETUP_INDEX_SQL)."""
    with odoo.cursor() as cr:
        env = odoo.env(cr, tracking_disable=True)
        cycle_id = (
            env["g2p.cycle"]
            .create(
                {
                    "name": name,
                    "program_id": program_id,
                    "start_date": date.today(),
                    "end_date": date.today(),
                }
            )
            .id
        )
    for start in range(0, len(partner_ids), CREATE_SLICE):
        with odoo.cursor() as cr:
            env = odoo.env(cr, tracking_disable=True, mail_create_nolog=True)
            env["g2p.entitlement"].create(
                [
                    {
                        "partner_id": partner_id,
                        "cycle_id": cycle_id,
                        "initial_amount": 10 + k % 90,
                        "state": "approved",
                    }
                    for k, partner_id in enumerate(
                        partner_ids[start : start + CREATE_SLICE], start=start
                    )
                ]
            )
    return cycle_id


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
        ids = approved_ids(cr, conf["cycle_id"])
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
        ids = approved_ids(cr, conf["cycle_id"])
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
