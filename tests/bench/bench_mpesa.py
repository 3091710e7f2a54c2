"""Benchmark: Mpesa dispatch engine vs an upstream-style sender.

Both variants pay the same number of deposits to the simulator (a separate
process, so its threads neither share our GIL nor show up in tracemalloc),
with an injected gateway latency (default 20 ms per deposit).

* baseline (upstream style): log in once per batch, ``requests.post`` per
  payment (a new TCP connection each time), no state tracking, no commits.
* ours: ``mpesa.dispatch`` with a store that COMMITS every state change
  (SENDING before the request, the attempt row + result after it) to
  PostgreSQL, keep-alive session, items streamed from the database.

Prints numbers only.  Usage::

    /work/venv/bin/python tests/bench/bench_mpesa.py [--payments 5000]

PostgreSQL: env PGHOST/PGPORT/PGUSER (default socket /tmp/pgdev, user odoo);
a temporary database is created and dropped.  Falls back to sqlite (noted).
"""

import argparse
import itertools
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
SIM = REPO / "g2p_payment_simple_mpesa" / "mpesa" / "simulator.py"
AGENT, PASSWORD = "bench-agent@sim.test", "bench-secret"
CHUNK = 500


def _import_core():
    if "g2p_payment_simple_mpesa" not in sys.modules:
        pkg = types.ModuleType("g2p_payment_simple_mpesa")
        pkg.__path__ = [str(REPO / "g2p_payment_simple_mpesa")]
        sys.modules["g2p_payment_simple_mpesa"] = pkg
    from g2p_payment_simple_mpesa.mpesa import client, const, dispatch  # noqa: PLC0415

    return client, const, dispatch


mpesa_client, mpesa_const, mpesa_dispatch = _import_core()


# -- simulator process ---------------------------------------------------------------


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator(latency_ms):
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SIM),
            "--port",
            str(port),
            "--agent",
            f"{AGENT}:{PASSWORD}:{10**12}",
            "--auto-register",
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(base + "/_sim/state", timeout=1)
            return proc, base
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit("simulator did not start")


def sim_config(base, **fields):
    requests.post(base + "/_sim/config", json=fields, timeout=5).raise_for_status()


def sim_counts(base):
    return requests.get(base + "/_sim/deposits", timeout=30).json()["counts"]


def payments(n, run):
    for i in range(n):
        yield (f"{run}-{i}@bench.test", 10 + i % 90)


# -- baseline --------------------------------------------------------------------------


def run_baseline(base, n, batch_size, run="base"):
    """Upstream shape: login per batch, requests.post per payment, nothing stored."""
    auth_url = base + "/api/login/agent"
    pay_url = base + "/api/transaction/deposit"
    todo = list(payments(n, run))  # upstream walks a batch recordset in memory
    paid = 0
    start = time.perf_counter()
    for offset in range(0, n, batch_size):
        login = requests.post(
            auth_url,
            data={"email": AGENT, "password": PASSWORD},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
        login.raise_for_status()
        token = login.json()["token"]
        for account, amount in todo[offset : offset + batch_size]:
            response = requests.post(
                pay_url,
                data={
                    "amount": amount,
                    "accountNo": account,
                    "customerType": "subscriber",
                },
                headers={
                    "Authorization": "Bearer " + token,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                timeout=10,
            )
            response.raise_for_status()
            paid += 1
    return time.perf_counter() - start, paid


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
    "CREATE INDEX mpesa_payment_state_id ON mpesa_payment (state, id)",
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
                f"NOTE: PostgreSQL not reachable ({type(exc).__name__}: {exc}); "
                f"using sqlite with synchronous commits instead"
            )
        return self

    def connect(self):
        if self.kind == "postgresql":
            return self._psycopg2.connect(dbname=self._pg_name, **self._params)
        conn = sqlite3.connect(os.path.join(self._tmpdir.name, "bench.sqlite"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def new_store(self):
        """Fresh tables; returns (store, reader connection)."""
        conn = self.connect()
        cur = conn.cursor()
        for table in ("mpesa_attempt", "mpesa_payment"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        serial = "bigserial" if self.kind == "postgresql" else "integer"
        for statement in SCHEMA:
            cur.execute(statement.format(serial=serial))
        conn.commit()
        reader = self.connect()
        if self.kind == "postgresql":
            reader.autocommit = True
            return SqlStore(conn, "%s", "NOW()"), reader
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


class Ours:
    """Our side: one seeded store and client, dispatched slice by slice."""

    def __init__(self, db, base, n, run="ours"):
        self.store, self.reader = db.new_store()
        self.store.seed(
            [(i + 1, acct, amount) for i, (acct, amount) in enumerate(payments(n, run))]
        )
        self.client = mpesa_client.SimpleMpesaClient(
            base + "/api/login/agent",
            base + "/api/transaction/deposit",
            AGENT,
            PASSWORD,
            timeout=(3.0, 10.0),
        )
        self.sent = 0

    def run(self, limit):
        """Dispatch the next ``limit`` queued payments; return elapsed seconds."""
        items = itertools.islice(self.store.queued(self.reader), limit)
        start = time.perf_counter()
        report = mpesa_dispatch.dispatch(items, self.client, self.store)
        elapsed = time.perf_counter() - start
        self.sent += report.sent
        return elapsed

    def close(self):
        self.client.close()
        self.store.conn.close()
        self.reader.close()


def traced_ours(db, base, n, run):
    ours = Ours(db, base, n, run=run)
    tracemalloc.start()
    ours.run(n)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ours.close()
    return peak


def traced_baseline(base, n, batch_size, run):
    tracemalloc.start()
    run_baseline(base, n, batch_size, run=run)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description="Mpesa dispatch benchmark")
    parser.add_argument("--payments", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=500, help="baseline batch")
    parser.add_argument(
        "--memory-sizes",
        default="1000,5000",
        help="payment counts for the tracemalloc runs (0 latency); empty to skip",
    )
    args = parser.parse_args(argv)
    n, latency = args.payments, args.latency_ms / 1000.0

    proc, base = start_simulator(args.latency_ms)
    try:
        with Database() as db:
            print(f"store: {db.note}")
            print(
                f"gateway: simulator process, {args.latency_ms:g} ms latency "
                f"per deposit"
            )
            # warm up both paths (imports, connection pools, DB caches)
            run_baseline(base, 20, args.batch_size, run="warm-b")
            warm = Ours(db, base, 20, run="warm-o")
            warm.run(20)
            warm.close()

            # The machine is shared: interleave the variants in rounds (order
            # alternating) so load drift hits both alike.
            ours = Ours(db, base, n)
            t_base = t_ours = 0.0
            paid_base = 0
            done = 0
            for rnd in range(args.rounds):
                size = (n - done) // (args.rounds - rnd)
                if size <= 0:
                    continue
                if rnd % 2 == 0:
                    secs, paid = run_baseline(base, size, args.batch_size, f"b{rnd}")
                    t_base += secs
                    t_ours += ours.run(size)
                else:
                    t_ours += ours.run(size)
                    secs, paid = run_baseline(base, size, args.batch_size, f"b{rnd}")
                    t_base += secs
                paid_base += paid
                done += size
            states = ours.store.state_counts()
            sent = ours.sent
            ours.close()
            counts = sim_counts(base)
            twice = sum(1 for c in counts.values() if c > 1)

            rows = [
                ("baseline (upstream style)", n, t_base, paid_base),
                ("ours (engine + PG commits)", n, t_ours, states.get("paid", 0)),
            ]
            print()
            print(
                f"{'variant':<28} {'payments':>8} {'seconds':>8} {'pay/s':>8} "
                f"{'ms/pay':>7} {'overhead ms':>11} {'paid':>6}"
            )
            for name, count, secs, paid in rows:
                per = secs / count * 1000.0
                print(
                    f"{name:<28} {count:>8} {secs:>8.2f} {count / secs:>8.1f} "
                    f"{per:>7.2f} {per - latency * 1000:>11.2f} {paid:>6}"
                )
            ratio = t_base / t_ours
            print(
                f"\nours / baseline throughput: {ratio:.3f} "
                f"({(ratio - 1) * 100:+.1f} %), {args.rounds} interleaved rounds"
            )
            print(
                f"commits per payment (ours): 2; gateway calls: {sent}; "
                f"states: {states}; accounts paid more than once: {twice}"
            )

            sizes = [int(s) for s in args.memory_sizes.split(",") if s.strip()]
            if sizes:
                sim_config(base, latency=0.0)
                print("\npeak traced memory (tracemalloc, 0 ms latency) in KiB")
                print(f"{'variant':<28} " + " ".join(f"{s:>10}" for s in sizes))
                ours_peaks = [traced_ours(db, base, s, f"mem-o{s}") for s in sizes]
                base_peaks = [
                    traced_baseline(base, s, args.batch_size, run=f"mem-b{s}")
                    for s in sizes
                ]
                print(
                    f"{'ours (streamed from DB)':<28} "
                    + " ".join(f"{p / 1024:>10.1f}" for p in ours_peaks)
                )
                print(
                    f"{'baseline (list in memory)':<28} "
                    + " ".join(f"{p / 1024:>10.1f}" for p in base_peaks)
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
