#!/usr/bin/env python3
"""Odoo tier: install the addons into a fresh database with their tests
enabled, judge the log strictly, then run the end-to-end tests against a
copy of that database.

Usage (normally through ``bash setup/test.sh``)::

    python tests/odoo_tier/run.py                       # the five modules
    python tests/odoo_tier/run.py --modules g2p_registry_base --no-e2e

Odoo 17 is found through ``--odoo-src`` / ``ODOO_SRC`` (a source tree with
odoo-bin), else ``G2P_ODOO_PYTHON`` or this interpreter when it can import
odoo 17.  Without one it prints a single "skipped" line and exits 3.

PostgreSQL: ``PGHOST`` (+ ``PGPORT``/``PGUSER``) when set, else a private
cluster in a temp dir that is always stopped at exit.

Exit codes: 0 passed, 1 failed, 2 usage error or unusable ODOO_SRC,
3 skipped (no Odoo 17 found).
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Test doubles (gateway simulators) the addon tests import: never shipped in
# an addon, so Odoo's test process and the e2e run get them on PYTHONPATH.
SUPPORT = REPO / "tests" / "support"
sys.path.insert(0, str(HERE))

import odoo_log  # noqa: E402
import pg  # noqa: E402  (psycopg2 only when a database is needed)
import standin_addons  # noqa: E402
from pg import free_port  # noqa: E402

DEFAULT_MODULES = (
    "g2p_registry_base",
    "g2p_programs",
    "g2p_program_documents",
    "g2p_payment_files",
    "g2p_payment_simple_mpesa",
)
ADDONS = ("g2p_payment_files", "g2p_payment_simple_mpesa")
BASES = ("standin", "openg2p")
# Both bases run large prepare/send runs as queue_job jobs: servers load
# queue_job server-wide (its job runner).
SERVER_WIDE = {"standin": "base,web,queue_job", "openg2p": "base,web,queue_job"}
SKIP_RC = 3
SKIP_HINT = "set ODOO_SRC=/path/to/odoo-17 source tree"
MAX_PRINTED_LINES = 40


class Skip(Exception):
    pass


class BadOdooSrc(Exception):
    """ODOO_SRC was given but is unusable: a configuration error, not a skip."""


# --------------------------------------------------------------------------
# Finding Odoo
# --------------------------------------------------------------------------

def _release_major(src):
    """Major version from odoo/release.py without importing Odoo."""
    text = (Path(src) / "odoo" / "release.py").read_text(encoding="utf-8")
    m = re.search(r"^version_info\s*=\s*\(\s*(?:'saas~)?(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def find_odoo(odoo_src=None, python=None):
    """Return (odoo_cmd list, odoo_src or None).  Raise Skip when absent."""
    python = python or sys.executable
    if odoo_src:
        src = Path(odoo_src).resolve()
        if not (src / "odoo-bin").is_file() or not (src / "odoo/release.py").is_file():
            raise BadOdooSrc(
                f"ODOO_SRC={odoo_src} is not an Odoo source tree (no odoo-bin)"
            )
        major = _release_major(src)
        if major != 17:
            raise BadOdooSrc(f"ODOO_SRC={odoo_src} is Odoo {major}, not 17")
        return [python, str(src / "odoo-bin")], src
    probe = (
        "import json, os, odoo.release as r; "
        "print(json.dumps([r.version_info[0], "
        "os.path.dirname(os.path.dirname(os.path.abspath(r.__file__)))]))"
    )
    try:
        out = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        out = None
    if not out or out.returncode != 0:
        raise Skip("no Odoo 17 found")
    major, parent = json.loads(out.stdout.strip().splitlines()[-1])
    if major != 17:
        raise Skip(f"importable odoo is version {major}, not 17")
    parent = Path(parent)
    if (parent / "odoo-bin").is_file():
        return [python, str(parent / "odoo-bin")], parent
    # An installed (non-source) Odoo: its addons live inside the package.
    return [python, "-m", "odoo"], None


def _say(text):
    print(f"Odoo tier: {text}", flush=True)


def default_addons_path(odoo_src, base="standin", openg2p_addons=()):
    """Odoo's addons, then the base (stand-in or the real OpenG2P dirs), then ours.

    The stand-in's OCA dependencies (queue_job from PyPI) come from a directory
    of their own, installed on first use; the real base brings its own copy.
    Raises ``standin_addons.StandinAddonsError`` when they cannot be installed.
    """
    parts = []
    if odoo_src and (Path(odoo_src) / "addons").is_dir():
        parts.append(str(Path(odoo_src) / "addons"))
    if base == "openg2p":
        parts += [str(Path(p).resolve()) for p in openg2p_addons]
    else:
        parts.append(standin_addons.ensure(log=_say))
        parts.append(str(REPO / "openg2p_base_standin"))
    parts.append(str(REPO))
    return parts


def default_test_tags(base, modules):
    """Every module's tests on the stand-in; only the addons' on the real base
    (the real base's own suites are OpenG2P's business, and need its demo data)."""
    wanted = modules if base == "standin" else [m for m in modules if m in ADDONS]
    return ",".join(f"/{m}" for m in wanted)


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def new_db_name(tag):
    prefix = os.environ.get("G2P_DB_PREFIX", "g2p_test_")
    return f"{prefix}{tag}_{secrets.token_hex(3)}"


def env_with_support(base=None):
    env = dict(os.environ if base is None else base)
    parts = [str(SUPPORT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    return env


def _install_signal_handlers():
    def _raise(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGHUP, _raise)


def _print_record(rec):
    lines = [rec.headline(), *rec.extra]
    for line in lines[:MAX_PRINTED_LINES]:
        print(f"    {line}")
    if len(lines) > MAX_PRINTED_LINES:
        print(f"    ... ({len(lines) - MAX_PRINTED_LINES} more lines)")


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


# --------------------------------------------------------------------------
# The Odoo run
# --------------------------------------------------------------------------

def run_odoo_tests(args, odoo_cmd, target, db, log_path, data_dir):
    tags = args.test_tags or default_test_tags(args.base, args.modules)
    port = free_port()
    cmd = [
        *odoo_cmd,
        f"--addons-path={','.join(args.addons_path)}",
        *target.odoo_args(),
        "-d", db,
        f"--db-filter=^{re.escape(db)}$",
        "-i", ",".join(args.modules),
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
    print(f"Odoo tier ({args.base} base): installing {','.join(args.modules)} "
          f"into {db} "
          f"(log: {log_path})", flush=True)
    source, version = standin_addons.find_module(args.addons_path, "queue_job")
    if source:
        print(f"Odoo tier ({args.base} base): queue_job {version} on the addons "
              f"path at {source}", flush=True)
    env = dict(env_with_support(), PYTHONUNBUFFERED="1")
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("# " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
            text=True, errors="replace", cwd=str(REPO),
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


def run_e2e(args, odoo_cmd, target, db, data_dir, work):
    env = env_with_support()
    env.update({
        "G2P_E2E_ODOO_CMD": json.dumps(odoo_cmd),
        "G2P_E2E_ADDONS_PATH": ",".join(args.addons_path),
        "G2P_E2E_DB_HOST": target.host,
        "G2P_E2E_DB_PORT": str(target.port),
        "G2P_E2E_DB_USER": target.user,
        "G2P_E2E_TEMPLATE_DB": db,
        "G2P_E2E_MODULES": ",".join(args.modules),
        "G2P_E2E_DATA_DIR": str(data_dir),
        "G2P_E2E_LOG_DIR": str(work / f"e2e-logs-{args.base}"),
        "G2P_E2E_BASE": args.base,
        "G2P_E2E_SERVER_WIDE": SERVER_WIDE[args.base],
    })
    junit = work / f"junit-e2e-{args.base}.xml"
    paths = [str(HERE / "e2e")]
    if not args.no_selftest:
        paths.append(str(HERE / "selftest"))
    cmd = [
        sys.executable, "-m", "pytest", *paths, "-p", "no:cacheprovider",
        f"--junitxml={junit}", "-o", "junit_family=xunit2", "--durations=5",
        *args.pytest_args,
    ]
    print("Odoo tier: end-to-end tests: " + " ".join(cmd[3:]), flush=True)
    start = time.monotonic()
    rc = subprocess.call(cmd, env=env, cwd=str(REPO))
    return rc, junit, time.monotonic() - start


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--modules", default=",".join(DEFAULT_MODULES),
                   help="comma-separated modules to install and test")
    p.add_argument("--test-tags", default=None,
                   help="Odoo --test-tags (default: /<module> for each module)")
    p.add_argument("--odoo-src", default=os.environ.get("ODOO_SRC") or None)
    p.add_argument("--base", choices=BASES, default="standin",
                   help="the OpenG2P base to run on: the stand-in in this repo, "
                        "or the real one given by --openg2p-addons")
    p.add_argument("--openg2p-addons", default=os.environ.get("OPENG2P_ADDONS") or "",
                   help="comma-separated addons dirs of the real OpenG2P base "
                        "(setup/odoo_sources.py openg2p SPEC prints them)")
    p.add_argument("--odoo-cmd", default=None,
                   help="JSON list overriding the Odoo command (python + odoo-bin)")
    p.add_argument("--addons-path", default=None,
                   help="comma-separated addons path (default: Odoo's addons, "
                        "openg2p_base_standin, the repo)")
    p.add_argument("--extra-addons-path", action="append", default=[],
                   help="extra addons directory (repeatable)")
    p.add_argument("--template-db", default=None,
                   help="start from a copy of this database instead of an empty one")
    p.add_argument("--allow-no-tests", action="store_true",
                   help="do not fail when Odoo ran zero tests")
    p.add_argument("--no-e2e", action="store_true", help="skip tests/odoo_tier/e2e")
    p.add_argument("--no-selftest", action="store_true",
                   help="skip the runner self-test (tests/odoo_tier/selftest)")
    p.add_argument("--keep-db", action="store_true",
                   help="keep the databases on an external server")
    p.add_argument("--work-dir", default=str(REPO / ".work"),
                   help="where logs and the Odoo data dir go (default: .work/)")
    p.add_argument("--result-json", default=None,
                   help="write counts for setup/test.sh's summary here")
    p.add_argument("--timeout", type=int, default=int(os.environ.get(
        "G2P_ODOO_TIMEOUT", "3000")), help="seconds allowed for the Odoo run")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="stream the whole Odoo log to stdout")
    p.add_argument("pytest_args", nargs="*",
                   help="extra arguments for the e2e pytest run (after --)")
    args = p.parse_args(argv)
    args.modules = [m.strip() for m in args.modules.split(",") if m.strip()]
    args.openg2p_addons = [p for p in args.openg2p_addons.split(",") if p]
    if args.base == "openg2p" and not args.openg2p_addons and not args.addons_path:
        p.error("--base openg2p needs --openg2p-addons (or OPENG2P_ADDONS)")
    return args


def write_result(path, **data):
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _install_signal_handlers()
    try:
        if args.odoo_cmd:
            odoo_cmd, odoo_src = json.loads(args.odoo_cmd), args.odoo_src
        else:
            odoo_cmd, odoo_src = find_odoo(
                args.odoo_src, os.environ.get("G2P_ODOO_PYTHON") or None
            )
    except Skip as why:
        print(f"Odoo tier skipped: {why} ({SKIP_HINT})")
        write_result(args.result_json, status="skipped", reason=str(why))
        return SKIP_RC
    except BadOdooSrc as why:
        print(f"Odoo tier FAILED: {why}")
        write_result(args.result_json, status="failed",
                     odoo={"problems": [str(why)]})
        return 2

    try:
        args.addons_path = (
            [p for p in args.addons_path.split(",") if p]
            if args.addons_path
            else default_addons_path(odoo_src, args.base, args.openg2p_addons)
        ) + [str(Path(p).resolve()) for p in args.extra_addons_path]
    except standin_addons.StandinAddonsError as why:
        print(f"Odoo tier FAILED: {why}")
        write_result(args.result_json, status="failed",
                     odoo={"problems": [str(why)]})
        return 2

    work = Path(args.work_dir).resolve()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "odoo-data"
    log_path = work / f"odoo-tier-{stamp}-{secrets.token_hex(2)}.log"

    cluster = None
    target = pg.external_target()
    created = []
    result = {"status": "failed", "odoo": {}, "e2e": None}
    try:
        if target is None:
            cluster = pg.PrivateCluster()
            target = cluster.start()
            print(f"Odoo tier: private PostgreSQL cluster at {target.host}", flush=True)
        pg.wait_ready(target)
        db = new_db_name(args.base)
        if args.template_db:
            target.create_db(db, template=args.template_db)
            src_store = data_dir / "filestore" / args.template_db
            if src_store.is_dir():
                shutil.copytree(src_store, data_dir / "filestore" / db)
        created.append(db)
        rc, seconds = run_odoo_tests(args, odoo_cmd, target, db, log_path, data_dir)
        report, problems, not_installed = judge(args, target, db, log_path, rc, seconds)
        qj_problems, qj_line = check_queue_job(args, target, db)
        if qj_line:
            print(qj_line, flush=True)
        for reason in qj_problems:
            print(f"Odoo tier FAILED: {reason}")
        problems += qj_problems
        result["odoo"] = {
            "tests": report.tests, "failed": report.failed, "errors": report.errors,
            "seconds": round(seconds, 1), "log": str(log_path),
            "problems": problems,
        }
        ok = not problems
        if not args.no_e2e:
            if not_installed:
                print("Odoo tier: end-to-end tests not run (modules not installed)")
                ok = False
            else:
                e2e_rc, junit, e2e_s = run_e2e(
                    args, odoo_cmd, target, db, data_dir, work
                )
                result["e2e"] = {
                    "rc": e2e_rc, "junit": str(junit), "seconds": round(e2e_s, 1)
                }
                if e2e_rc != 0:
                    print(f"Odoo tier: end-to-end tests FAILED (pytest exit {e2e_rc})")
                    ok = False
        result["status"] = "passed" if ok else "failed"
        return 0 if ok else 1
    except pg.ClusterError as exc:
        print(f"Odoo tier FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        print("Odoo tier: interrupted")
        return 130
    finally:
        write_result(args.result_json, **result)
        if cluster is not None:
            cluster.stop()
        elif not args.keep_db:
            for name in created:
                try:
                    target.drop_db(name)
                except Exception as exc:  # best effort; report and go on
                    print(f"Odoo tier: could not drop {name}: {exc}")
        if not args.keep_db:
            for name in created:
                shutil.rmtree(data_dir / "filestore" / name, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
