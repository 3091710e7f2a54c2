"""A cycle's vouchers and queue jobs, read in SQL, and the end-state checks.

Everything takes a psycopg2 cursor on the Odoo database (autocommit, so each
poll sees the latest commits). Table and column names of many2many fields are
read from ``ir_model_fields``: the same on both bases.
"""

import os
from collections import Counter
from dataclasses import dataclass

JOB_COLUMNS = (
    "id",
    "uuid",
    "channel",
    "state",
    "date_started",
    "date_done",
    "worker_pid",
    "retry",
    "model_name",
    "method_name",
    "exc_info",
)


@dataclass
class Progress:
    payments: int
    with_files: int
    locked: bool

    def done(self, expected):
        return (
            self.payments >= expected
            and self.with_files >= expected
            and not self.locked
        )


def m2m_table(cr, model, field):
    """(relation table, own column, other column) of a many2many field."""
    cr.execute(
        "SELECT relation_table, column1, column2 FROM ir_model_fields "
        "WHERE model = %s AND name = %s",
        (model, field),
    )
    row = cr.fetchone()
    if not row or not row[0]:
        raise LookupError(f"{model}.{field} is not a stored many2many field")
    return row


def _payment_files_join(cr):
    table, own, other = m2m_table(cr, "g2p.payment", "payment_file_ids")
    return table, own, other


def progress(cr, cycle_id):
    table, own, _other = _payment_files_join(cr)
    cr.execute(
        f"SELECT count(*), count(*) FILTER (WHERE EXISTS ("
        f"SELECT 1 FROM {table} r WHERE r.{own} = p.id)) "
        "FROM g2p_payment p WHERE p.cycle_id = %s",
        (cycle_id,),
    )
    payments, with_files = cr.fetchone()
    cr.execute("SELECT locked FROM g2p_cycle WHERE id = %s", (cycle_id,))
    (locked,) = cr.fetchone()
    return Progress(payments, with_files, bool(locked))


# queue_job ---------------------------------------------------------------------


def has_queue_job(cr):
    cr.execute("SELECT to_regclass('queue_job') IS NOT NULL")
    return cr.fetchone()[0]


def runner_requeues_dead_jobs(cr):
    """OCA queue_job >= 17.0.1.5 keeps a lock row per running job
    (``queue_job_lock``) and its runner requeues jobs whose lock is gone."""
    cr.execute("SELECT to_regclass('queue_job_lock') IS NOT NULL")
    return cr.fetchone()[0]


def max_job_id(cr):
    if not has_queue_job(cr):
        return 0
    cr.execute("SELECT coalesce(max(id), 0) FROM queue_job")
    return cr.fetchone()[0]


def jobs_since(cr, since_id, channel=None):
    """Jobs created after ``since_id`` (optionally of one channel), as dicts."""
    if not has_queue_job(cr):
        return []
    query = "SELECT " + ", ".join(JOB_COLUMNS) + " FROM queue_job WHERE id > %s"
    params = [since_id]
    if channel:
        query += " AND channel = %s"
        params.append(channel)
    cr.execute(query + " ORDER BY id", params)
    return [dict(zip(JOB_COLUMNS, row, strict=True)) for row in cr.fetchall()]


def overlapping(jobs):
    """Pairs of jobs whose date_started..date_done intervals overlap."""
    spans = sorted(
        (j["date_started"], j["date_done"], j["uuid"])
        for j in jobs
        if j["date_started"] and j["date_done"]
    )
    pairs = []
    for index, (_start, end, uuid) in enumerate(spans):
        for other_start, _other_end, other in spans[index + 1 :]:
            if other_start >= end:
                break
            pairs.append((uuid, other))
    return pairs


# End state ---------------------------------------------------------------------


def _extension(name):
    return os.path.splitext(name or "")[1].lstrip(".").lower()


def voucher_problems(cr, cycle_id, expected, file_types, qrcode_config_ids):
    """What is wrong with the cycle's vouchers and codes (empty when right).

    ``file_types``: the extensions each payment must have exactly one file of
    (one per file config, e.g. ["pdf", "csv"]).
    """
    problems = []
    table, own, other = _payment_files_join(cr)
    cr.execute("SELECT id FROM g2p_payment WHERE cycle_id = %s", (cycle_id,))
    payment_ids = [row[0] for row in cr.fetchall()]
    if len(payment_ids) != expected:
        problems.append(
            f"{len(payment_ids)} payments in the cycle, expected {expected}"
        )
    cr.execute(
        f"SELECT r.{own}, f.name FROM {table} r "
        f"JOIN storage_file f ON f.id = r.{other} "
        "JOIN g2p_payment p ON p.id = r." + own + " WHERE p.cycle_id = %s",
        (cycle_id,),
    )
    files = {}
    for payment_id, name in cr.fetchall():
        files.setdefault(payment_id, Counter())[_extension(name)] += 1
    wanted = Counter(file_types)
    wrong = {
        pid: dict(files.get(pid, {}))
        for pid in payment_ids
        if files.get(pid, Counter()) != wanted
    }
    if wrong:
        sample = dict(list(wrong.items())[:5])
        problems.append(
            f"{len(wrong)} payments do not have exactly one file per file config "
            f"(want {dict(wanted)}), e.g. {sample}"
        )
    cr.execute(
        "SELECT payment_id, qrcode_config_id, count(*) FROM g2p_payment_file_qrcode "
        "WHERE payment_id = ANY(%s) GROUP BY 1, 2",
        (payment_ids,),
    )
    code_counts = {(pid, cid): n for pid, cid, n in cr.fetchall()}
    duplicates = {key: n for key, n in code_counts.items() if n != 1}
    if duplicates:
        problems.append(
            f"{len(duplicates)} (payment, code config) pairs have several code rows, "
            f"e.g. {list(duplicates.items())[:5]}"
        )
    missing = len(payment_ids) * len(qrcode_config_ids) - len(
        [key for key in code_counts if key[1] in qrcode_config_ids]
    )
    if missing:
        problems.append(f"{missing} (payment, code config) pairs have no code row")
    if progress(cr, cycle_id).locked:
        problems.append("the cycle is still locked")
    return problems


def unlinked_store_files(cr, store_id):
    """storage.file rows of the store linked to no payment and no batch."""
    clauses = []
    for model in ("g2p.payment", "g2p.payment.batch"):
        table, own, other = m2m_table(cr, model, "payment_file_ids")
        clauses.append(f"NOT EXISTS (SELECT 1 FROM {table} r WHERE r.{other} = f.id)")
    cr.execute(
        "SELECT f.id, f.name FROM storage_file f WHERE f.backend_id = %s AND "
        + " AND ".join(clauses),
        (store_id,),
    )
    return cr.fetchall()


def _files_under(root):
    found = set()
    for folder, _dirs, names in os.walk(root):
        for name in names:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


def store_on_disk(cr, store_id, filestore, directory=""):
    """The voucher store's files against the disk (``filestore``: the
    database's Odoo filestore folder, ``<data_dir>/filestore/<db>``).

    Returns {"files": files the store's rows name, "orphans": files on disk no
    row names, "missing": files rows name that are not on disk}.

    OCA filesystem store (real base): the store's folder (``directory``, its
    directory_path: a server-environment field, not a column) under
    ``<filestore>/storage`` against ``storage.file.relative_path``. Odoo's own
    filestore (stand-in): the attachments of the store's files; an orphan is
    a file no ``ir_attachment`` names and that Odoo's garbage collector was
    not told about (its ``checklist``).
    """
    cr.execute(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE "
        "table_schema = current_schema() AND table_name = 'storage_file' "
        "AND column_name = 'relative_path')"
    )
    if cr.fetchone()[0]:
        folder = os.path.join(filestore, "storage", directory or "")
        cr.execute(
            "SELECT relative_path FROM storage_file WHERE backend_id = %s",
            (store_id,),
        )
        named = {os.path.normpath(path) for (path,) in cr.fetchall() if path}
        on_disk = _files_under(folder) if os.path.isdir(folder) else set()
        return {
            "files": len(named),
            "orphans": sorted(on_disk - named),
            "missing": sorted(named - on_disk),
        }
    cr.execute(
        "SELECT a.store_fname FROM ir_attachment a JOIN storage_file f ON "
        "a.res_model = 'storage.file' AND a.res_id = f.id "
        "WHERE f.backend_id = %s AND a.store_fname IS NOT NULL",
        (store_id,),
    )
    named = {os.path.normpath(name) for (name,) in cr.fetchall()}
    cr.execute("SELECT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL")
    known = {os.path.normpath(name) for (name,) in cr.fetchall()}
    checklist = _files_under(os.path.join(filestore, "checklist"))
    on_disk = {
        path
        for path in _files_under(filestore)
        if not path.startswith(("checklist" + os.sep, "storage" + os.sep))
    }
    return {
        "files": len(named),
        "orphans": sorted(on_disk - known - checklist),
        "missing": sorted(named - on_disk),
    }


def database_size(cr):
    cr.execute("SELECT pg_database_size(current_database())")
    return cr.fetchone()[0]


def folder_size(root):
    total = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except OSError:
                continue  # removed while walking
    return total
