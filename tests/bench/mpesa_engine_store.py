"""The stores ``bench_mpesa.py`` dispatches against, and their database.

``SqlStore`` commits every state change over a DB-API connection (sqlite, or
PostgreSQL with explicit COMMITs); ``PgStore`` does it in two autocommit
statements per payment.  ``Database`` is a throw-away PostgreSQL database
(PGHOST/PGPORT/PGUSER) or, when that is unreachable, sqlite files.
"""

import os
import sqlite3
import sys
import tempfile
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHUNK = 500


def _import_core():
    if "g2p_payment_simple_mpesa" not in sys.modules:
        pkg = types.ModuleType("g2p_payment_simple_mpesa")
        pkg.__path__ = [str(REPO / "g2p_payment_simple_mpesa")]
        sys.modules["g2p_payment_simple_mpesa"] = pkg
    from g2p_payment_simple_mpesa.mpesa import client, const, dispatch  # noqa: PLC0415

    return client, const, dispatch


mpesa_client, mpesa_const, mpesa_dispatch = _import_core()


# -- our store -------------------------------------------------------------------------

SCHEMA = (
    """CREATE TABLE mpesa_payment (
        id integer PRIMARY KEY, account_no varchar NOT NULL, amount integer NOT NULL,
        customer_type varchar NOT NULL, state varchar NOT NULL, attempts integer
        NOT NULL DEFAULT 0, retry_after double precision, reason varchar,
        write_date timestamp)""",
    """CREATE TABLE mpesa_attempt (
        id {serial} PRIMARY KEY, payment_id integer NOT NULL, attempt integer,
        kind varchar, http_status integer, message varchar,
        latency_ms double precision, create_date timestamp)""",
    "CREATE INDEX IF NOT EXISTS mpesa_payment_state_id ON mpesa_payment (state, id)",
)


class SqlStore:
    """DispatchStore over a DB-API connection; every state change committed."""

    def __init__(self, conn, param, now_sql):
        self.conn = conn
        self.p = param
        self.now = now_sql

    def _sql(self, text):
        # memoised: the same few statements run thousands of times
        cache = self.__dict__.setdefault("_cache", {})
        if text not in cache:
            cache[text] = text.replace("%s", self.p).replace("NOW()", self.now)
        return cache[text]

    def seed(self, rows):
        cur = self.conn.cursor()
        cur.executemany(
            self._sql(
                "INSERT INTO mpesa_payment (id, account_no, amount, customer_type, "
                "state) VALUES (%s, %s, %s, 'subscriber', 'queued')"
            ),
            rows,
        )
        self.conn.commit()

    def queued(self, reader):
        """Stream queued items in id order, CHUNK rows at a time (flat memory)."""
        last = 0
        sql = self._sql(
            "SELECT id, amount, account_no, customer_type, attempts FROM mpesa_payment "
            "WHERE state = 'queued' AND id > %s ORDER BY id LIMIT " + str(CHUNK)
        )
        while True:
            cur = reader.cursor()
            cur.execute(sql, (last,))
            rows = cur.fetchall()
            cur.close()
            if not rows:
                return
            for row in rows:
                yield mpesa_dispatch.DispatchItem(*row)
            last = rows[-1][0]

    def begin_send(self, item):
        cur = self.conn.cursor()
        cur.execute(
            self._sql(
                "UPDATE mpesa_payment SET state = 'sending', attempts = attempts + 1, "
                "write_date = NOW() WHERE id = %s AND state = 'queued'"
            ),
            (item.key,),
        )
        claimed = cur.rowcount == 1
        self.conn.commit()  # durable before the money can move
        return claimed

    def record_result(self, item, outcome, decision):
        cur = self.conn.cursor()
        cur.execute(
            self._sql(
                "INSERT INTO mpesa_attempt (payment_id, attempt, kind, http_status, "
                "message, latency_ms, create_date) "
                "VALUES (%s, %s, %s, %s, %s, %s, NOW())"
            ),
            (
                item.key,
                item.attempts,
                outcome.kind,
                outcome.http_status,
                outcome.message[:200],
                outcome.latency_ms,
            ),
        )
        cur.execute(
            self._sql(
                "UPDATE mpesa_payment SET state = %s, retry_after = %s, reason = %s, "
                "write_date = NOW() WHERE id = %s"
            ),
            (decision.state, decision.retry_after, decision.reason[:200], item.key),
        )
        self.conn.commit()

    def state_counts(self):
        cur = self.conn.cursor()
        cur.execute("SELECT state, count(*) FROM mpesa_payment GROUP BY state")
        result = dict(cur.fetchall())
        self.conn.commit()
        return result


class PgStore(SqlStore):
    """PostgreSQL store, two round trips per payment, each one durable.

    Autocommit: a single statement is its own transaction and is committed
    (synchronous_commit) before the call returns, so no separate COMMIT round
    trip is needed.  The attempt row and the new state go in one statement.
    """

    def __init__(self, conn):
        super().__init__(conn, "%s", "NOW()")

    def seed(self, rows):
        from psycopg2.extras import execute_values  # noqa: PLC0415 - bench only

        cur = self.conn.cursor()
        execute_values(
            cur,
            "INSERT INTO mpesa_payment (id, account_no, amount, customer_type, state) "
            "VALUES %s",
            [(i, acct, amount, "subscriber", "queued") for i, acct, amount in rows],
            page_size=1000,
        )
        self.conn.commit()
        self.conn.autocommit = True

    def begin_send(self, item):
        cur = self.conn.cursor()
        cur.execute(
            "UPDATE mpesa_payment SET state = 'sending', attempts = attempts + 1, "
            "write_date = NOW() WHERE id = %s AND state = 'queued'",
            (item.key,),
        )
        return cur.rowcount == 1  # committed: durable before the money can move

    def record_result(self, item, outcome, decision):
        cur = self.conn.cursor()
        cur.execute(
            "WITH attempt AS (INSERT INTO mpesa_attempt (payment_id, attempt, kind, "
            "http_status, message, latency_ms, create_date) "
            "VALUES (%s, %s, %s, %s, %s, %s, NOW())) "
            "UPDATE mpesa_payment SET state = %s, retry_after = %s, reason = %s, "
            "write_date = NOW() WHERE id = %s",
            (
                item.key,
                item.attempts,
                outcome.kind,
                outcome.http_status,
                outcome.message[:200],
                outcome.latency_ms,
                decision.state,
                decision.retry_after,
                decision.reason[:200],
                item.key,
            ),
        )

    def state_counts(self):
        cur = self.conn.cursor()
        cur.execute("SELECT state, count(*) FROM mpesa_payment GROUP BY state")
        return dict(cur.fetchall())


class Database:
    """A throw-away PostgreSQL database, or a sqlite file when PG is unreachable."""

    def __init__(self):
        self.kind = None
        self.note = ""
        self._pg_name = None
        self._tmpdir = None

    def __enter__(self):
        try:
            import psycopg2  # noqa: PLC0415 - optional, bench only

            params = {
                "host": os.environ.get("PGHOST", "/tmp/pgdev"),
                "port": int(os.environ.get("PGPORT", "5432")),
                "user": os.environ.get("PGUSER", "odoo"),
            }
            admin = psycopg2.connect(dbname="postgres", **params)
            admin.autocommit = True
            self._pg_name = f"h3_bench_mpesa_{os.getpid()}"
            with admin.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{self._pg_name}"')
            admin.close()
            self._params = params
            self._psycopg2 = psycopg2
            self.kind = "postgresql"
            with self._psycopg2.connect(dbname="postgres", **params) as probe:
                cur = probe.cursor()
                cur.execute("SHOW synchronous_commit")
                sync = cur.fetchone()[0]
                cur.execute("SHOW fsync")
                fsync = cur.fetchone()[0]
            probe.close()
            self.note = (
                f"PostgreSQL {params['host']}:{params['port']} "
                f"(synchronous_commit={sync}, fsync={fsync})"
            )
        except Exception as exc:  # any reason PG is unusable -> sqlite
            self.kind = "sqlite"
            self._tmpdir = tempfile.TemporaryDirectory(prefix="h3_bench_")
            self.note = (
                f"NOTE: PostgreSQL not reachable ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())}); "
                f"using sqlite with synchronous commits instead"
            )
        return self

    def connect(self, name="main"):
        if self.kind == "postgresql":
            conn = self._psycopg2.connect(dbname=self._pg_name, **self._params)
            with conn.cursor() as cur:
                cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
                cur.execute(f'SET search_path TO "{name}"')
            conn.commit()
            return conn
        conn = sqlite3.connect(os.path.join(self._tmpdir.name, f"{name}.sqlite"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def new_store(self, name, naive=False):
        """Fresh tables in their own schema; returns (store, reader connection)."""
        conn = self.connect(name)
        cur = conn.cursor()
        for table in ("mpesa_attempt", "mpesa_payment"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        serial = "bigserial" if self.kind == "postgresql" else "integer"
        for statement in SCHEMA:
            cur.execute(statement.format(serial=serial))
        conn.commit()
        reader = self.connect(name)
        if self.kind == "postgresql":
            reader.autocommit = True
            if naive:
                return SqlStore(conn, "%s", "NOW()"), reader
            return PgStore(conn), reader
        return SqlStore(conn, "?", "CURRENT_TIMESTAMP"), reader

    def __exit__(self, *exc):
        if self.kind == "postgresql":
            admin = self._psycopg2.connect(dbname="postgres", **self._params)
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
            admin.close()
        elif self._tmpdir is not None:
            self._tmpdir.cleanup()
