"""The Odoo run of the tier: install the modules with their tests enabled into
a fresh database, then judge the log, the module states and which queue_job
was installed."""

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import odoo_log
import standin_addons
from pg import free_port
from tier_paths import REPO, default_test_tags, env_with_support

MAX_PRINTED_LINES = 40


def new_db_name(tag):
    prefix = os.environ.get("G2P_DB_PREFIX", "g2p_test_")
    return f"{prefix}{tag}_{secrets.token_hex(3)}"


def run_odoo_tests(args, odoo_cmd, target, db, log_path, data_dir):
    tags = args.test_tags or default_test_tags(args.base, args.modules)
    port = free_port()
    cmd = [
        *odoo_cmd,
        f"--addons-path={','.join(args.addons_path)}",
        *target.odoo_args(),
        "-d",
        db,
        f"--db-filter=^{re.escape(db)}$",
        "-i",
        ",".join(args.modules),
        "--test-enable",
        f"--test-tags={tags}",
        "--without-demo=all",
        "--stop-after-init",
        f"--http-port={port}",
        "--http-interface=127.0.0.1",
        "--max-cron-threads=0",
        f"--data-dir={data_dir}",
        "--log-level=info",
    ]
    print(
        f"Odoo tier ({args.base} base): installing {','.join(args.modules)} "
        f"into {db} "
        f"(log: {log_path})",
        flush=True,
    )
    source, version = standin_addons.find_module(args.addons_path, "queue_job")
    if source:
        print(
            f"Odoo tier ({args.base} base): queue_job {version} on the addons "
            f"path at {source}",
            flush=True,
        )
    env = dict(env_with_support(), PYTHONUNBUFFERED="1")
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("# " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            errors="replace",
            cwd=str(REPO),
        )
        try:
            for line in proc.stdout:
                log.write(line)
                if args.verbose:
                    sys.stdout.write(line)
                elif " ERROR " in line or " CRITICAL " in line:
                    # Live hint; the full record is printed at the end.
                    sys.stdout.write("  ! " + line)
                    sys.stdout.flush()
            rc = proc.wait(timeout=args.timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return rc, time.monotonic() - start


def _print_record(rec):
    lines = [rec.headline(), *rec.extra]
    for line in lines[:MAX_PRINTED_LINES]:
        print(f"    {line}")
    if len(lines) > MAX_PRINTED_LINES:
        print(f"    ... ({len(lines) - MAX_PRINTED_LINES} more lines)")


def judge(args, target, db, log_path, rc, seconds):
    text = Path(log_path).read_text(encoding="utf-8", errors="replace")
    report = odoo_log.analyse(text)
    problems = report.problems(require_tests=not args.allow_no_tests)
    if rc != 0:
        problems.insert(0, f"odoo-bin exited with code {rc}")
    try:
        states = target.module_states(db, args.modules)
    except Exception as exc:  # database missing or half created
        states = {}
        problems.append(
            "could not read module states: " + str(exc).strip().splitlines()[0]
        )
    not_installed = [m for m in args.modules if states.get(m) != "installed"]
    if not_installed:
        problems.append(
            "not installed: "
            + ", ".join(f"{m} ({states.get(m, 'unknown')})" for m in not_installed)
        )
    print(odoo_log.summary_line(report, seconds), flush=True)
    if problems:
        print("Odoo tier FAILED:")
        for reason in problems:
            print(f"  - {reason}")
        for rec in report.bad_records:
            _print_record(rec)
        if rc != 0 and not report.bad_records:
            tail = text.splitlines()[-MAX_PRINTED_LINES:]
            print("  last log lines:")
            for line in tail:
                print(f"    {line}")
        print(f"  full log: {log_path}")
    return report, problems, not_installed


def installed_version(target, db, module):
    """The version of ``module`` installed in ``db``, or None."""
    conn = target.connect(db)
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT latest_version FROM ir_module_module "
                "WHERE name = %s AND state = 'installed'",
                (module,),
            )
            row = cr.fetchone()
            return row[0] if row else None
    finally:
        conn.close()


def check_queue_job(args, target, db):
    """Say which queue_job the tier installed; a problem when it is not the
    addons path's copy (another one shadows it, e.g. in the venv's odoo/addons:
    the real-base tier must run OpenG2P's vendored queue_job)."""
    source, expected = standin_addons.find_module(args.addons_path, "queue_job")
    try:
        version = installed_version(target, db, "queue_job")
    except Exception as exc:  # judge() already reports an unreadable database
        return [], f"queue_job version unknown ({str(exc).strip().splitlines()[0]})"
    if not version:
        return [], None  # a module subset without queue_job (runner self-test)
    line = f"Odoo tier ({args.base} base): queue_job {version} installed"
    if version == expected:
        return [], f"{line}, from {source}"
    return [
        f"queue_job {version} was installed, but the addons path's copy is "
        f"{expected or 'missing'}" + (f" ({source})" if source else "") + ": "
        "another queue_job shadows it (pip uninstall odoo-addon-queue_job from "
        "the virtualenv; the stand-in's copy lives in its own directory)"
    ], line
