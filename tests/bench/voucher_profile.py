"""Where the time goes per voucher: cProfile of one prepare run, in buckets.

``bucket_times(stats)`` splits the profile's total time into render (QWeb and
inline templates), sign (python-jose / pycose / cryptography), QR + barcode
drawing, PDF (waiting for wkhtmltopdf), split (qpdf or pypdf, and the
lossless touch), storage (storage
backend, storage.file, attachments), ORM/SQL, and the rest.

Each function's OWN time goes to the bucket its file belongs to. A function
of no bucket (a builtin such as ``select.poll`` or ``hashlib.sha1``, a stdlib
helper) hands its own time on to its callers, in proportion to the time it
spent for each caller (cProfile records that per call edge), and so on up
the stack until a bucket is found; time no bucket claims is "rest".

``profile_run(...)`` is the Odoo side: Odoo as a library, Prepare Payments on
a cycle, then every queued job of that click performed in this process the
way queue_job's runner does, each in its own cursor, under cProfile.
"""

import cProfile
import io
import pstats
import sys
import time

BUCKETS = (
    "render",
    "sign",
    "QR + barcode",
    "PDF (wkhtmltopdf)",
    "split (qpdf/pypdf)",
    "storage",
    "ORM/SQL",
    "rest",
)
# First match wins: more specific paths first.
RULES = (
    (
        "sign",
        (
            "/jose/",
            "/pycose/",
            "/cose/",
            "/cryptography/",
            "/cbor2/",
            "/base45",
            "/vouchers/tokens.py",
            "/vouchers/keys.py",
            "/vouchers/okp.py",
            "/ecdsa/",
            "/crypto_key_set.py",
        ),
    ),
    (
        "QR + barcode",
        (
            "/qrcode/",
            "/barcode/",
            "/segno/",
            "/vouchers/codes.py",
            "/vouchers/png.py",
            "/PIL/",
            "/payment_file_qrcode.py",
        ),
    ),
    (
        "split (qpdf/pypdf)",
        (
            "/pikepdf/",
            "/pypdf/",
            "/PyPDF2/",
            "/fontTools/",
            "/vouchers/split_qpdf.py",
            "/vouchers/lossless.py",
        ),
    ),
    ("PDF (wkhtmltopdf)", ("/vouchers/pdf.py", "/subprocess.py", "/selectors.py")),
    (
        "storage",
        (
            "/storage_backend/",
            "/storage_file/",
            "/g2p_documents/",
            "/g2p_program_documents/",
            "/ir_attachment.py",
            "/component/",
        ),
    ),
    (
        "render",
        (
            "/ir_qweb",
            "/qweb",
            "/rendering_tools.py",
            "/safe_eval.py",
            "/g2p_payment_files/rendering.py",
            "/vouchers/payloads.py",
            "/markupsafe/",
            "/mail_render_mixin.py",
            "/jinja2/",
            "/babel/",
        ),
    ),
    (
        "ORM/SQL",
        (
            "/odoo/sql_db.py",
            "/psycopg2/",
            "/odoo/models.py",
            "/odoo/fields.py",
            "/odoo/api.py",
            "/odoo/osv/",
            "/odoo/tools/query.py",
            "/odoo/tools/sql.py",
            "/odoo/modules/registry.py",
            "/ir_model.py",
            "/ir_rule.py",
            "/odoo/tools/cache.py",
            "/odoo/tools/lru.py",
            "/odoo/tools/misc.py",
        ),
    ),
)


def classify(filename):
    """Bucket of a source file, or None (builtins, stdlib, glue code)."""
    path = filename.replace("\\", "/")
    for bucket, markers in RULES:
        if any(marker in path for marker in markers):
            return bucket
    return None


def bucket_times(stats):
    """{bucket: seconds} from a ``pstats.Stats`` (sums to its total time)."""
    raw = stats.stats
    memo = {}

    def shares(func, depth=0):
        """{bucket: fraction} for the own time of ``func``."""
        if func in memo:
            return memo[func]
        own = classify(func[0])
        if own:
            memo[func] = {own: 1.0}
            return memo[func]
        memo[func] = {"rest": 1.0}  # while resolving: cycles count as rest
        callers = raw[func][4]
        weights = {c: edge[2] for c, edge in callers.items() if edge[2] > 0}
        if not weights:
            weights = {c: edge[3] for c, edge in callers.items() if edge[3] > 0}
        total = sum(weights.values())
        if not total or depth > 200:
            return memo[func]
        result = {}
        for caller, weight in weights.items():
            for bucket, fraction in shares(caller, depth + 1).items():
                result[bucket] = result.get(bucket, 0.0) + fraction * weight / total
        memo[func] = result
        return result

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))
    try:
        times = dict.fromkeys(BUCKETS, 0.0)
        for func, (_cc, _nc, own_time, _ct, _callers) in raw.items():
            if own_time <= 0:
                continue
            for bucket, fraction in shares(func).items():
                times[bucket] += own_time * fraction
    finally:
        sys.setrecursionlimit(limit)
    return times


def top_functions(stats, count=12):
    """[(own seconds, calls, 'file:line(function)', bucket)] by own time."""
    rows = []
    for func, (_cc, calls, own_time, _ct, _callers) in stats.stats.items():
        rows.append((own_time, calls, pstats.func_std_string(func), classify(func[0])))
    rows.sort(reverse=True)
    return rows[:count]


def print_report(stats, vouchers, wall_seconds, jobs):
    times = bucket_times(stats)
    total = sum(times.values()) or 1.0
    print()
    print(
        f"Where the time goes per voucher (cProfile, Odoo as a library, "
        f"{vouchers} vouchers in {jobs} job(s), {wall_seconds:.1f} s under the "
        "profiler; the profiler slows Python code, so read the shares):"
    )
    print(f"  {'bucket':<20} {'ms/voucher':>10} {'share':>7}")
    for bucket in BUCKETS:
        seconds = times[bucket]
        print(
            f"  {bucket:<20} {seconds * 1000 / max(vouchers, 1):>10.2f} "
            f"{seconds / total * 100:>6.1f}%"
        )
    print(f"  {'total':<20} {total * 1000 / max(vouchers, 1):>10.2f} {100:>6.1f}%")
    print("  top functions by own time:")
    for own, calls, name, bucket in top_functions(stats):
        print(
            f"    {own:>7.2f} s {calls:>9} calls  [{bucket or 'via callers'}] "
            f"{_short(name)}"
        )


def _short(name):
    for marker in ("/site-packages/", "/odoo-17/", "/work/main/", "/lib/python"):
        if marker in name:
            return name[name.index(marker) + len(marker) :]
    return name


# Odoo side -------------------------------------------------------------------


def _perform_queued_jobs(odoo, registry, since_id, profiler):
    """Run the click's jobs like the runner: pending ones by id, each in its
    own cursor; dependants become pending when their group is done."""
    from odoo.addons.queue_job.job import Job  # noqa: PLC0415 - Odoo at run time

    done = 0
    while True:
        with registry.cursor() as cr:
            cr.execute(
                "SELECT uuid FROM queue_job WHERE id > %s AND state IN "
                "('pending', 'enqueued') ORDER BY id LIMIT 1",
                (since_id,),
            )
            row = cr.fetchone()
            if not row:
                return done
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            job = Job.load(env, row[0])
            job.set_started()
            job.store()
            cr.commit()
            profiler.enable()
            try:
                job.perform()
            finally:
                profiler.disable()
            job.set_done()
            job.store()
            env.flush_all()
            cr.commit()
            job.enqueue_waiting()
            cr.commit()
            done += 1


def profile_run(odoo_args, db, cycle_id):
    """Prepare Payments on ``cycle_id`` in this process under cProfile.

    ``odoo_args``: Odoo command-line options (addons path, database access,
    data dir). The server must be stopped: its job runner would take the jobs.
    Returns (pstats.Stats, wall seconds, jobs performed).
    """
    import odoo  # noqa: PLC0415 - Odoo is located at run time
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config([*odoo_args, "-d", db, "--log-level=error"])
    registry = odoo.modules.registry.Registry(db)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    with registry.cursor() as cr:
        cr.execute("SELECT to_regclass('queue_job') IS NOT NULL")
        queued = cr.fetchone()[0]
        since = 0
        if queued:
            cr.execute("SELECT coalesce(max(id), 0) FROM queue_job")
            since = cr.fetchone()[0]
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        profiler.enable()
        try:
            env["g2p.cycle"].browse(cycle_id).prepare_payment()
        finally:
            profiler.disable()
        cr.commit()
    jobs = _perform_queued_jobs(odoo, registry, since, profiler) if queued else 0
    wall = time.perf_counter() - start
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    return stats, wall, jobs
