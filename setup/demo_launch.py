"""What the demo launcher (``demo.py``) checks and starts.

Pre-flight checks that end in one line naming the fix, the PostgreSQL
cluster and the state of the demo database, child processes in their own
session, and installing the modules with ``odoo-bin``.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "odoo_tier"))
sys.path.insert(0, str(HERE))

import demo_data  # noqa: E402
import run as odoo_tier  # noqa: E402  (finding Odoo is shared with the test runner)

MODULES = ("fastapi", "g2p_payment_files", "g2p_payment_simple_mpesa")
MARKER_PARAM = demo_data.MARKER_PARAM
LOG_TAIL = 25


class DemoError(Exception):
    """Something the user must fix; printed as one line, no traceback."""


# --------------------------------------------------------------------------
# Pre-flight: one clear line for what is missing
# --------------------------------------------------------------------------


def port_taken(port, interface):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((interface, port))
        except OSError:
            return True
    return False


def preflight(cfg):
    if cfg.base not in odoo_tier.BASES:
        raise DemoError(
            f"DEMO_BASE={cfg.base}: use one of {', '.join(odoo_tier.BASES)}"
        )
    try:
        odoo_cmd, odoo_src = odoo_tier.find_odoo(
            cfg.odoo_src, os.environ.get("G2P_ODOO_PYTHON") or None
        )
    except (odoo_tier.Skip, getattr(odoo_tier, "BadOdooSrc", odoo_tier.Skip)) as why:
        detail = "" if str(why) == "no Odoo 17 found" else f" ({why})"
        raise DemoError(
            f"no Odoo 17 found{detail}: set ODOO_SRC to an Odoo 17 source tree, "
            "archive or URL"
        ) from None
    try:
        import psycopg2  # noqa: F401, PLC0415
    except ImportError:
        raise DemoError(
            f"{sys.executable} cannot import psycopg2: run the demo with the Python "
            "that runs Odoo (G2P_ODOO_PYTHON=...), or pip install -r "
            "$ODOO_SRC/requirements.txt"
        ) from None
    if not shutil.which("wkhtmltopdf"):
        raise DemoError(
            "wkhtmltopdf missing: vouchers are rendered to PDF with it "
            "(Debian/Ubuntu: apt-get install wkhtmltopdf)"
        )
    for port, name, var in (
        (cfg.odoo_port, "Odoo", "DEMO_ODOO_PORT"),
        (cfg.sim_port, "the Mpesa simulator", "DEMO_SIMULATOR_PORT"),
        (cfg.daraja_port, "the Daraja simulator", "DEMO_DARAJA_PORT"),
    ):
        if port_taken(port, cfg.interface if name == "Odoo" else "127.0.0.1"):
            raise DemoError(
                f"port {port} is taken (wanted for {name}): stop what uses it, "
                f"or choose another with {var}=..."
            )
    if cfg.base == "openg2p" and not cfg.openg2p_addons:
        raise DemoError(
            "DEMO_BASE=openg2p needs the real OpenG2P base: set OPENG2P_SRC to its "
            "addons folder or archive (bash setup/demo.sh finds the addons in it)"
        )
    return odoo_cmd, odoo_src


# --------------------------------------------------------------------------
# PostgreSQL: a private cluster that survives restarts, or PGHOST
# --------------------------------------------------------------------------


def demo_cluster(root, port):
    """The demo's own cluster in ``root``: kept between runs, socket only.

    A cluster left running by a killed launcher is reused, and stopped at the
    end like one started here (it is this work dir's own).
    """
    import pg  # noqa: PLC0415  (needs psycopg2; checked in preflight)

    try:
        return pg.PrivateCluster(port=port, root=root, keep=True)
    except pg.ClusterError as exc:  # no initdb/pg_ctl on this machine
        raise DemoError(str(exc)) from None


def db_state(target, db):
    """'missing', 'bare' (modules not all installed), 'installed' or 'loaded'."""
    with target.connect() as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
        exists = cr.fetchone()
    conn.close()
    if not exists:
        return "missing"
    try:
        states = target.module_states(db, MODULES)
    except Exception:  # a half-created database has no ir_module_module yet
        return "bare"
    if any(states.get(m) != "installed" for m in MODULES):
        return "bare"
    conn = target.connect(db)
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT 1 FROM ir_config_parameter WHERE key = %s", (MARKER_PARAM,)
            )
            loaded = cr.fetchone()
    finally:
        conn.close()
    return "loaded" if loaded else "installed"


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------


def tail_of(path, n=LOG_TAIL):
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


class Proc:
    """A child in its own session, so Ctrl-C reaches only the launcher."""

    def __init__(self, name, cmd, log_path, env=None):
        self.name = name
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115
        self.log.write(f"\n# {time.strftime('%F %T')} " + " ".join(cmd) + "\n")
        self.log.flush()
        self.popen = subprocess.Popen(
            cmd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
            env=env,
            start_new_session=True,
        )

    def alive(self):
        return self.popen.poll() is None

    def stop(self, grace=20):
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()


def wait_http(url, proc, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise DemoError(
                f"{what} exited with code {proc.popen.returncode}; last lines of "
                f"{proc.log_path}:\n{tail_of(proc.log_path)}"
            )
        try:
            with demo_data._OPENER.open(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise DemoError(
        f"{what} did not answer {url} within {timeout} s; see {proc.log_path}"
    )


def odoo_base_args(cfg, target, addons_path):
    return [
        f"--addons-path={','.join(addons_path)}",
        # queue_job's runner (both bases): it prepares big cycles as jobs.
        f"--load={odoo_tier.SERVER_WIDE[cfg.base]}",
        *target.odoo_args(),
        "-d",
        cfg.db,
        f"--db-filter=^{cfg.db}$",
        f"--data-dir={cfg.work / 'odoo-data'}",
        "--without-demo=all",
    ]


def install(cfg, odoo_cmd, base_args, modules, mode="-i"):
    log = cfg.work / "odoo-install.log"
    cmd = [
        *odoo_cmd,
        *base_args,
        mode,
        ",".join(modules),
        "--stop-after-init",
        "--http-port",
        str(cfg.odoo_port),
        "--http-interface=127.0.0.1",
        "--max-cron-threads=0",
        "--log-level=warn",
    ]
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("\n# " + " ".join(cmd) + "\n")
        fh.flush()
        child = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
            start_new_session=True,
        )
        try:
            rc = child.wait()
        finally:
            if child.poll() is None:  # interrupted: do not leave it installing
                child.terminate()
                child.wait()
    if rc != 0:
        raise DemoError(
            f"installing {','.join(modules)} failed (exit {rc}); "
            f"last lines of {log}:\n{tail_of(log)}"
        )
