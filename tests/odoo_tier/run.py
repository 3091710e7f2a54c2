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
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# The runner's parts, each a module of its own next to this one; the names
# other scripts use (``import run as tier``: the demo, the benchmarks) are
# re-exported here.
import pg  # noqa: E402  (psycopg2 only when a database is needed)
import standin_addons  # noqa: E402
from tier_e2e import run_e2e  # noqa: E402
from tier_install import (  # noqa: E402
    check_queue_job,
    judge,
    new_db_name,
    run_odoo_tests,
)
from tier_odoo import SKIP_HINT, SKIP_RC, BadOdooSrc, Skip, find_odoo  # noqa: E402
from tier_paths import (  # noqa: E402
    ADDONS,
    BASES,
    DEFAULT_MODULES,
    REPO,
    SERVER_WIDE,
    SUPPORT,
    default_addons_path,
    default_test_tags,
    env_with_support,
)

__all__ = [
    "ADDONS",
    "BASES",
    "DEFAULT_MODULES",
    "REPO",
    "SERVER_WIDE",
    "SKIP_RC",
    "SUPPORT",
    "BadOdooSrc",
    "Skip",
    "default_addons_path",
    "default_test_tags",
    "env_with_support",
    "find_odoo",
    "main",
]


def _install_signal_handlers():
    def _raise(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGHUP, _raise)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--modules",
        default=",".join(DEFAULT_MODULES),
        help="comma-separated modules to install and test",
    )
    p.add_argument(
        "--test-tags",
        default=None,
        help="Odoo --test-tags (default: /<module> for each module)",
    )
    p.add_argument("--odoo-src", default=os.environ.get("ODOO_SRC") or None)
    p.add_argument(
        "--base",
        choices=BASES,
        default="standin",
        help="the OpenG2P base to run on: the stand-in in this repo, "
        "or the real one given by --openg2p-addons",
    )
    p.add_argument(
        "--openg2p-addons",
        default=os.environ.get("OPENG2P_ADDONS") or "",
        help="comma-separated addons dirs of the real OpenG2P base "
        "(setup/odoo_sources.py openg2p SPEC prints them)",
    )
    p.add_argument(
        "--odoo-cmd",
        default=None,
        help="JSON list overriding the Odoo command (python + odoo-bin)",
    )
    p.add_argument(
        "--addons-path",
        default=None,
        help="comma-separated addons path (default: Odoo's addons, "
        "openg2p_base_standin, the repo)",
    )
    p.add_argument(
        "--extra-addons-path",
        action="append",
        default=[],
        help="extra addons directory (repeatable)",
    )
    p.add_argument(
        "--template-db",
        default=None,
        help="start from a copy of this database instead of an empty one",
    )
    p.add_argument(
        "--allow-no-tests",
        action="store_true",
        help="do not fail when Odoo ran zero tests",
    )
    p.add_argument("--no-e2e", action="store_true", help="skip tests/odoo_tier/e2e")
    p.add_argument(
        "--no-selftest",
        action="store_true",
        help="skip the runner self-test (tests/odoo_tier/selftest)",
    )
    p.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the databases on an external server",
    )
    p.add_argument(
        "--work-dir",
        default=str(REPO / ".work"),
        help="where logs and the Odoo data dir go (default: .work/)",
    )
    p.add_argument(
        "--result-json",
        default=None,
        help="write counts for setup/test.sh's summary here",
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=int(os.environ.get("G2P_ODOO_TIMEOUT", "3000")),
        help="seconds allowed for the Odoo run",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="stream the whole Odoo log to stdout",
    )
    p.add_argument(
        "pytest_args",
        nargs="*",
        help="extra arguments for the e2e pytest run (after --)",
    )
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
        write_result(args.result_json, status="failed", odoo={"problems": [str(why)]})
        return 2

    try:
        args.addons_path = (
            [p for p in args.addons_path.split(",") if p]
            if args.addons_path
            else default_addons_path(odoo_src, args.base, args.openg2p_addons)
        ) + [str(Path(p).resolve()) for p in args.extra_addons_path]
    except standin_addons.StandinAddonsError as why:
        print(f"Odoo tier FAILED: {why}")
        write_result(args.result_json, status="failed", odoo={"problems": [str(why)]})
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
            "tests": report.tests,
            "failed": report.failed,
            "errors": report.errors,
            "seconds": round(seconds, 1),
            "log": str(log_path),
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
                    "rc": e2e_rc,
                    "junit": str(junit),
                    "seconds": round(e2e_s, 1),
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
