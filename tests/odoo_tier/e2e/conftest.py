"""Fixtures for end-to-end tests against a real Odoo server.

``tests/odoo_tier/run.py`` runs these tests after installing the addons into
a template database and describes the environment in these variables:

    G2P_E2E_ODOO_CMD      JSON list: python + odoo-bin (or python -m odoo)
    G2P_E2E_ADDONS_PATH   comma-separated addons path
    G2P_E2E_DB_HOST       PostgreSQL host or socket directory
    G2P_E2E_DB_PORT       PostgreSQL port
    G2P_E2E_DB_USER       PostgreSQL role Odoo connects with
    G2P_E2E_TEMPLATE_DB   database with all five modules installed
                          (login admin / password admin)
    G2P_E2E_DATA_DIR      optional: Odoo data dir of the template (filestore)
    G2P_E2E_LOG_DIR       optional: where server logs go
    G2P_PORT_RANGE        optional: "lo-hi" ports the servers may use
    G2P_E2E_BASE          optional: "standin" (default) or "openg2p"
    G2P_E2E_SERVER_WIDE   optional: Odoo --load list (queue_job's job runner,
                          on both bases; its channels: QUEUE_JOB_CHANNELS)

Without the first six every test in this directory is skipped.

Fixtures:

- ``odoo_db``: a fresh copy of the template (name yielded, dropped after).
- ``odoo_server_factory``: ``start(db, extra_args=(), env=None)`` returns an
  ``OdooServer`` (``.url``, ``.port``, ``.db``, ``.process``, ``.log_path``,
  ``.kill()`` = SIGKILL, ``.stop()`` = SIGTERM + wait, ``.log_text()``).
  Defaults ``--workers=0 --max-cron-threads=0`` (trigger crons explicitly);
  ``extra_args`` come last so they override the defaults; ``env`` is merged
  over ``os.environ``.  Waits for ``GET /web/login`` to answer 200 (60 s).
  Every server still running is stopped at teardown.
- ``rpc_factory``: ``rpc(server, db, login="admin", password="admin")``
  returns an ``OdooRPC`` whose ``.call(model, method, *args, **kwargs)``
  goes through ``/jsonrpc`` ``execute_kw`` and raises ``OdooRPCError``
  (``.name`` = server exception class, ``.message``) on faults.
"""

import atexit
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

# The runner's own helpers (plain modules next to run.py; no Odoo import).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg import PgTarget, free_port  # noqa: E402

REQUIRED_VARS = (
    "G2P_E2E_ODOO_CMD",
    "G2P_E2E_ADDONS_PATH",
    "G2P_E2E_DB_HOST",
    "G2P_E2E_DB_PORT",
    "G2P_E2E_DB_USER",
    "G2P_E2E_TEMPLATE_DB",
)
SKIP_REASON = (
    "end-to-end tests need a real Odoo: run them through tests/odoo_tier/run.py "
    "or bash setup/test.sh (G2P_E2E_* variables not set)"
)
START_TIMEOUT = 60
# The job runner's capacity on test servers (the ODOO_QUEUE_JOB_CHANNELS of
# the environment wins): two jobs at once, little for a 2-core machine.
QUEUE_JOB_CHANNELS = "root:2"
HERE = Path(__file__).resolve().parent


def _missing_vars():
    return [v for v in REQUIRED_VARS if not os.environ.get(v)]


def pytest_collection_modifyitems(config, items):
    if not _missing_vars():
        return
    marker = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(marker)


@dataclass
class E2EEnv(PgTarget):
    """Where the template database lives, plus how to start Odoo on it."""

    odoo_cmd: list = None
    addons_path: str = ""
    template_db: str = ""
    data_dir: Path = None
    log_dir: Path = None
    base: str = "standin"
    server_wide: str = ""

    def db_args(self):
        return self.odoo_args()


@pytest.fixture(scope="session")
def e2e_env(tmp_path_factory):
    missing = _missing_vars()
    if missing:
        pytest.skip(SKIP_REASON)
    data_dir = os.environ.get("G2P_E2E_DATA_DIR")
    log_dir = os.environ.get("G2P_E2E_LOG_DIR")
    env = E2EEnv(
        odoo_cmd=json.loads(os.environ["G2P_E2E_ODOO_CMD"]),
        addons_path=os.environ["G2P_E2E_ADDONS_PATH"],
        host=os.environ["G2P_E2E_DB_HOST"],
        port=int(os.environ["G2P_E2E_DB_PORT"]),
        user=os.environ["G2P_E2E_DB_USER"],
        template_db=os.environ["G2P_E2E_TEMPLATE_DB"],
        data_dir=Path(data_dir) if data_dir else tmp_path_factory.mktemp("odoo-data"),
        log_dir=Path(log_dir) if log_dir else tmp_path_factory.mktemp("odoo-logs"),
        base=os.environ.get("G2P_E2E_BASE") or "standin",
        server_wide=os.environ.get("G2P_E2E_SERVER_WIDE") or "",
    )
    env.log_dir.mkdir(parents=True, exist_ok=True)
    return env


# --------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------

_db_counter = itertools.count(1)


def _drop_db(e2e_env, name):
    e2e_env.drop_db(name)
    shutil.rmtree(e2e_env.data_dir / "filestore" / name, ignore_errors=True)


@pytest.fixture
def odoo_db(e2e_env):
    """A fresh copy of the template database; yields its name."""
    prefix = os.environ.get("G2P_DB_PREFIX", "g2p_test_")
    name = f"{prefix}e2e_{os.getpid()}_{next(_db_counter)}_{secrets.token_hex(2)}"
    e2e_env.create_db(name, template=e2e_env.template_db)
    # Attachments live in the filestore, not in the database: copy it too.
    store = e2e_env.data_dir / "filestore" / e2e_env.template_db
    if store.is_dir():
        shutil.copytree(store, e2e_env.data_dir / "filestore" / name)
    try:
        yield name
    finally:
        _drop_db(e2e_env, name)


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

# Loopback only: never go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class OdooServer:
    def __init__(self, process, port, db, log_path):
        self.process = process
        self.port = port
        self.db = db
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"

    def __repr__(self):
        return f"<OdooServer {self.url} db={self.db} pid={self.process.pid}>"

    def log_text(self):
        try:
            return Path(self.log_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def kill(self):
        """SIGKILL: the process dies without any cleanup (a crash)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout=30):
        """SIGTERM and wait for a graceful shutdown (SIGKILL after timeout)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process.wait()

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Odoo server exited with code {self.process.returncode} "
                    f"before answering; log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with _OPENER.open(f"{self.url}/web/login", timeout=5) as resp:
                    if resp.status == 200:
                        return
                    last_error = f"HTTP {resp.status}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = exc
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(
            f"Odoo server did not answer GET /web/login with 200 within "
            f"{timeout} s (last: {last_error}); log {self.log_path}:\n"
            f"{self.log_tail()}"
        )


@pytest.fixture
def odoo_server_factory(e2e_env, request):
    servers = []

    def start(db, extra_args=(), env=None):
        port = free_port()
        name = request.node.name.replace("/", "_")[:80]
        log_path = e2e_env.log_dir / f"{name}-{db}-{port}.log"
        cmd = [
            *e2e_env.odoo_cmd,
            f"--addons-path={e2e_env.addons_path}",
            *e2e_env.db_args(),
            "-d",
            db,
            f"--db-filter=^{db}$",
            f"--http-port={port}",
            "--http-interface=127.0.0.1",
            "--workers=0",
            "--max-cron-threads=0",
            f"--data-dir={e2e_env.data_dir}",
            "--without-demo=all",
            *([f"--load={e2e_env.server_wide}"] if e2e_env.server_wide else []),
            *extra_args,
        ]
        full_env = dict(os.environ, PYTHONUNBUFFERED="1")
        if "queue_job" in e2e_env.server_wide.split(","):
            full_env.setdefault("ODOO_QUEUE_JOB_CHANNELS", QUEUE_JOB_CHANNELS)
        if env:
            full_env.update(env)
        log = open(log_path, "w", encoding="utf-8")
        log.write("# " + " ".join(cmd) + "\n")
        log.flush()
        try:
            process = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                start_new_session=True,
            )
        finally:
            log.close()
        server = OdooServer(process, port, db, log_path)
        servers.append(server)
        # Own session (no Ctrl-C from the terminal): make sure an interrupted
        # run does not leave it behind.
        atexit.register(server.kill)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


# --------------------------------------------------------------------------
# JSON-RPC
# --------------------------------------------------------------------------


class OdooRPCError(Exception):
    def __init__(self, message, name=None, debug=None):
        super().__init__(f"{name}: {message}" if name else message)
        self.message = message
        self.name = name
        self.debug = debug


class OdooRPC:
    def __init__(self, url, db, login, password, timeout=120):
        self.url = url
        self.db = db
        self.login = login
        self.password = password
        self.timeout = timeout
        self._ids = itertools.count(1)
        self.uid = self._jsonrpc("common", "login", db, login, password)
        if not self.uid:
            raise OdooRPCError(f"login {login!r} on database {db!r} refused")

    def _jsonrpc(self, service, method, *args):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": next(self._ids),
        }
        req = urllib.request.Request(
            f"{self.url}/jsonrpc",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with _OPENER.open(req, timeout=self.timeout) as resp:
            answer = json.loads(resp.read().decode())
        if answer.get("error"):
            err = answer["error"]
            data = err.get("data") or {}
            raise OdooRPCError(
                data.get("message") or err.get("message") or str(err),
                name=data.get("name"),
                debug=data.get("debug"),
            )
        return answer.get("result")

    def call(self, model, method, *args, **kwargs):
        return self._jsonrpc(
            "object",
            "execute_kw",
            self.db,
            self.uid,
            self.password,
            model,
            method,
            list(args),
            kwargs,
        )

    def link_payment_manager(self, program, model, manager):
        """Make a concrete payment manager the program's one payment manager.

        Both bases give a new program a default payment manager and allow
        only one: point that ``g2p.program.payment.manager`` row at ours.
        """
        ref = f"{model},{manager}"
        [row] = self.call("g2p.program", "read", [program], ["payment_managers"])
        if row["payment_managers"]:
            self.call(
                "g2p.program.payment.manager",
                "write",
                row["payment_managers"][:1],
                {"manager_ref_id": ref},
            )
        else:
            vals = {"program_id": program, "manager_ref_id": ref}
            self.call(
                "g2p.program", "write", [program], {"payment_managers": [(0, 0, vals)]}
            )

    def create_cycle(self, program, name, **vals):
        """An approved cycle of today (both bases require the dates)."""
        today = time.strftime("%Y-%m-%d")
        vals = {
            "name": name,
            "program_id": program,
            "state": "approved",
            "start_date": today,
            "end_date": today,
            **vals,
        }
        return self.call("g2p.cycle", "create", vals)

    def add_phone_beneficiaries(self, cycle, name, count, amount):
        """``count`` registrants with phones 07000000001..., each with an
        approved entitlement of ``amount`` in ``cycle``; their ids."""
        partners = self.call(
            "res.partner",
            "create",
            [
                {"name": f"{name} {i}", "is_registrant": True, "phone": "07%08d" % i}
                for i in range(1, count + 1)
            ],
        )
        self.call(
            "g2p.entitlement",
            "create",
            [
                {
                    "partner_id": partner,
                    "cycle_id": cycle,
                    "initial_amount": amount,
                    "state": "approved",
                }
                for partner in partners
            ],
        )
        return partners


@pytest.fixture
def rpc_factory():
    def rpc(server, db, login="admin", password="admin"):
        return OdooRPC(server.url, db, login, password)

    return rpc


@pytest.fixture(scope="session")
def odoo_rpc_error():
    """The exception class raised by ``OdooRPC.call`` (for pytest.raises)."""
    return OdooRPCError
