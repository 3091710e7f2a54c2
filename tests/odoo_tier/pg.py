"""PostgreSQL for the Odoo tier: an external server (PGHOST) or a private
throw-away cluster in a temporary directory.

Only psycopg2 and the PostgreSQL server binaries are needed; nothing here
imports Odoo.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

import psycopg2
from psycopg2 import sql

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


class PrivateCluster:
    """initdb + pg_ctl in a temp dir; unix socket only, fsync off."""

    def __init__(self, port=55432):
        self.port = port
        self.bindir = find_pg_bindir()
        if not self.bindir:
            raise RuntimeError(
                "no PostgreSQL server binaries (initdb) found; install "
                "postgresql-15 or set PGHOST/PGPORT/PGUSER"
            )
        self.tmp = None
        self.started = False
        # initdb refuses to run as root: run the server as 'postgres'.
        self.as_postgres = os.geteuid() == 0

    @property
    def datadir(self):
        return os.path.join(self.tmp, "data")

    def _run(self, args, **kw):
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_postgres:
            runuser = shutil.which("runuser")
            cmd = [runuser, "-u", "postgres", "--", *cmd] if runuser else [
                "su", "postgres", "-s", "/bin/sh", "-c",
                " ".join(_shquote(c) for c in cmd),
            ]
        return subprocess.run(
            cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, **kw,
        )

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="g2p-pg-")
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        os.chmod(self.tmp, 0o755)
        try:
            self._run([
                "initdb", "-D", self.datadir, "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--no-locale",
            ])
            opts = (
                f"-k {self.tmp} -p {self.port} -c listen_addresses='' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            self._run([
                "pg_ctl", "-D", self.datadir, "-o", opts,
                "-l", os.path.join(self.tmp, "server.log"), "-w", "-t", "60", "start",
            ])
        except subprocess.CalledProcessError as exc:
            self._dump_failure(exc)
            raise
        self.started = True
        admin = PgTarget(host=self.tmp, port=self.port, user="postgres")
        conn = admin.connect()
        try:
            conn.cursor().execute(
                sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(
                    sql.Identifier(ODOO_ROLE)
                )
            )
        finally:
            conn.close()
        return PgTarget(host=self.tmp, port=self.port, user=ODOO_ROLE)

    def _dump_failure(self, exc):
        print(f"PostgreSQL command failed: {exc.cmd}\n{exc.stdout}")
        log = os.path.join(self.tmp or "", "server.log")
        if self.tmp and os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as fh:
                print(fh.read()[-3000:])

    def stop(self):
        if not self.tmp:
            return
        if self.started:
            try:
                self._run(["pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop"])
            except subprocess.CalledProcessError:
                self._run(["pg_ctl", "-D", self.datadir, "-m", "immediate", "stop"])
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None


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
