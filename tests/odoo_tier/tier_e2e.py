"""The end-to-end run of the tier: pytest over tests/odoo_tier/e2e (and the
runner self-test), against real Odoo servers started from the tier's
database, told where everything is through G2P_E2E_* variables."""

import json
import subprocess
import sys
import time

from tier_paths import HERE, REPO, SERVER_WIDE, env_with_support


def e2e_env(args, odoo_cmd, target, db, data_dir, work):
    env = env_with_support()
    env.update(
        {
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
        }
    )
    return env


def run_e2e(args, odoo_cmd, target, db, data_dir, work):
    env = e2e_env(args, odoo_cmd, target, db, data_dir, work)
    junit = work / f"junit-e2e-{args.base}.xml"
    paths = [str(HERE / "e2e")]
    if not args.no_selftest:
        paths.append(str(HERE / "selftest"))
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit2",
        "--durations=5",
        *args.pytest_args,
    ]
    print("Odoo tier: end-to-end tests: " + " ".join(cmd[3:]), flush=True)
    start = time.monotonic()
    rc = subprocess.call(cmd, env=env, cwd=str(REPO))
    return rc, junit, time.monotonic() - start
