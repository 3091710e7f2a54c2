"""Local services for the Odoo tier, its e2e tests and the demo (public API):

- ``PgTarget``: a PostgreSQL server to connect to (``external_target()`` from
  PGHOST/PGPORT/PGUSER), with database helpers;
- ``PrivateCluster``: a socket-only cluster of our own, throw-away (tests) or
  kept in a folder between runs (the demo);
- ``wait_ready``, ``free_port``.

Only psycopg2 and the PostgreSQL server binaries are needed; nothing here
imports Odoo.  Without psycopg2 only ``free_port`` works (the runner's
"no Odoo" path needs nothing else).
"""

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - see the docstring
    psycopg2 = sql = None

# Odoo refuses to run with the 'postgres' role, so the private cluster gets
# a dedicated login superuser.
ODOO_ROLE = "odoo"


@dataclass
class PgTarget:
    host: str
    port: int
    user: str

    def connect(self, dbname="postgres"):
        conn = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname
        )
        conn.autocommit = True
        return conn

    def odoo_args(self):
        return [
            f"--db_host={self.host}",
            f"--db_port={self.port}",
            f"--db_user={self.user}",
        ]

    def create_db(self, name, template=None):
        # No "with conn": psycopg2 >= 2.9 opens a transaction block there,
        # even in autocommit mode, and CREATE DATABASE refuses to run in one.
        conn = self.connect()
        try:
            cr = conn.cursor()
            if template:
                fast = conn.server_version >= 150000  # no WAL for every block
                strategy = " STRATEGY FILE_COPY" if fast else ""
                cr.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy).format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
            else:
                cr.execute(
                    sql.SQL(
                        "CREATE DATABASE {} ENCODING 'unicode' "
                        "LC_COLLATE 'C' TEMPLATE template0"
                    ).format(sql.Identifier(name))
                )
        finally:
            conn.close()

    def drop_db(self, name):
        conn = self.connect()
        try:
            with conn.cursor() as cr:
                # A server killed by a test may leave backends behind.
                cr.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                cr.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
                )
        finally:
            conn.close()

    def module_states(self, dbname, modules):
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cr:
                cr.execute(
                    "SELECT name, state FROM ir_module_module WHERE name = ANY(%s)",
                    (list(modules),),
                )
                return dict(cr.fetchall())
        finally:
            conn.close()


def external_target():
    """The server described by PGHOST/PGPORT/PGUSER, or None."""
    host = os.environ.get("PGHOST")
    if not host:
        return None
    user = os.environ.get("PGUSER") or pwd.getpwuid(os.getuid()).pw_name
    return PgTarget(host=host, port=int(os.environ.get("PGPORT") or 5432), user=user)


def find_pg_bindir():
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
    )
    preferred = "/usr/lib/postgresql/15/bin"
    if os.path.isfile(os.path.join(preferred, "initdb")):
        return preferred
    for path in reversed(candidates):
        if os.path.isfile(os.path.join(path, "initdb")):
            return path
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message says why."""


class PrivateCluster:
    """initdb + pg_ctl, unix socket only, no TCP listener.

    Throw-away by default: a temp dir, fsync off, removed by ``stop()``.
    With ``root`` and ``keep=True`` (the demo) the data lives in ``root``,
    a cluster found there (even one left running by a killed process) is
    reused, and ``stop()`` stops the server but keeps the data.
    """

    def __init__(self, port=55432, root=None, keep=False):
        self.port = port
        self.keep = keep
        self.root = str(root) if root else None
        self.bindir = find_pg_bindir()
        if not self.bindir:
            raise ClusterError(
                "no PostgreSQL server binaries (initdb) found; install "
                "postgresql-15 or set PGHOST/PGPORT/PGUSER"
            )
        self.started = False
        # initdb refuses to run as root: run the server as 'postgres'.
        self.as_postgres = os.geteuid() == 0

    @property
    def datadir(self):
        return os.path.join(self.root, "data")

    @property
    def log_path(self):
        return os.path.join(self.root, "server.log")

    def run(self, *args, **kw):
        """Run a PostgreSQL server binary (as 'postgres' when we are root)."""
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_postgres:
            runuser = shutil.which("runuser")
            cmd = (
                [runuser, "-u", "postgres", "--", *cmd]
                if runuser
                else [
                    "su",
                    "postgres",
                    "-s",
                    "/bin/sh",
                    "-c",
                    " ".join(_shquote(c) for c in cmd),
                ]
            )
        return subprocess.run(
            cmd,
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **kw,
        )

    def running(self):
        try:
            self.run("pg_ctl", "-D", self.datadir, "status")
        except subprocess.CalledProcessError:
            return False
        return True

    def _prepare_root(self):
        if self.root:
            os.makedirs(self.root, exist_ok=True)
        else:
            self.root = tempfile.mkdtemp(prefix="g2p-pg-")
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o755)

    def _server_options(self):
        opts = f"-k {self.root} -p {self.port} -c listen_addresses='' "
        if self.keep:
            return opts + "-c max_connections=100"
        # Throw-away data: durability buys nothing.
        return opts + (
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )

    def start(self):
        """Start (or reuse) the cluster; returns the PgTarget Odoo connects with."""
        self._prepare_root()
        created = not os.path.isfile(os.path.join(self.datadir, "PG_VERSION"))
        try:
            if created:
                self.run(
                    "initdb",
                    "-D",
                    self.datadir,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                )
            # Set first: a cluster found running is stopped at the end too.
            self.started = True
            if not self.running():
                self.run(
                    "pg_ctl",
                    "-D",
                    self.datadir,
                    "-o",
                    self._server_options(),
                    "-l",
                    self.log_path,
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
        except subprocess.CalledProcessError as exc:
            raise ClusterError(self._failure_text(exc)) from None
        admin = PgTarget(host=self.root, port=self.port, user="postgres")
        wait_ready(admin)
        if created:
            conn = admin.connect()
            try:
                conn.cursor().execute(
                    sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(
                        sql.Identifier(ODOO_ROLE)
                    )
                )
            finally:
                conn.close()
        return PgTarget(host=self.root, port=self.port, user=ODOO_ROLE)

    def _failure_text(self, exc):
        text = f"PostgreSQL command failed: {' '.join(exc.cmd)}: {exc.stdout.strip()}"
        if self.root and os.path.exists(self.log_path):
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                text += f"\n{self.log_path}:\n{fh.read()[-3000:]}"
        return text

    def stop(self):
        if not self.root:
            return
        if self.started and self.running():
            for mode in ("fast", "immediate"):
                try:
                    self.run("pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop")
                    break
                except subprocess.CalledProcessError:
                    continue
        self.started = False
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def free_port():
    """A free TCP port on 127.0.0.1; G2P_PORT_RANGE=lo-hi restricts it."""
    rng = os.environ.get("G2P_PORT_RANGE")
    candidates = [0]
    if rng:
        lo, hi = (int(x) for x in rng.split("-"))
        candidates = list(range(lo, hi + 1))
        secrets.SystemRandom().shuffle(candidates)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in G2P_PORT_RANGE={rng}")


def _shquote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def wait_ready(target, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            target.connect().close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
