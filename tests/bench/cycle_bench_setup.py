"""The set-up of ``bench_cycle_odoo.py``: cluster, database, server, program.

``Bench`` installs the addons into a fresh database of a private cluster,
starts a prefork Odoo the way production runs it (workers, limits, queue_job
server-wide), and makes the voucher program, its registrants and cycles.
"""

import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIER = REPO / "tests" / "odoo_tier"
for _path in (REPO / "tests" / "support", TIER, TIER / "e2e"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import conftest as e2e  # noqa: E402  (OdooServer, OdooRPC: the e2e tests' own)
import pg  # noqa: E402
import run as tier  # noqa: E402  (finding Odoo, addons path, PYTHONPATH)
from g2p_scale import programs, servers, state  # noqa: E402

WARMUP = 200  # the real base prepares in a job from 200 entitlements


class Bench:
    """The cluster, database, server and program of one benchmark run."""

    MODULES = "g2p_payment_files"  # what the database gets (and its dependencies)
    # A server that serves one database may name it and skip --db-filter:
    # Odoo then does not list the cluster's databases on every request.
    DB_FILTER = True

    def __init__(self, args):
        self.args = args
        self.work = Path(args.work_dir) / f"{args.base}-{time.strftime('%H%M%S')}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.work / "odoo-data"
        self.odoo_cmd, odoo_src = tier.find_odoo(args.odoo_src)
        self.addons_path = tier.default_addons_path(
            odoo_src, args.base, args.openg2p_addons
        )
        self.cluster = pg.PrivateCluster(root=self.work / "pg", keep=args.keep)
        self.target = None
        self.db = f"bench_cycle_{args.base}_{secrets.token_hex(2)}"
        self.server = None
        self.rpc = None
        self.conn = None
        self.cr = None
        self.setup = None
        self.partners = []
        self.server_wide = ""

    # -- set-up -------------------------------------------------------------------
    def odoo_args(self):
        return [
            f"--addons-path={','.join(self.addons_path)}",
            *self.target.odoo_args(),
            f"--data-dir={self.data_dir}",
        ]

    def install(self):
        self.target = self.cluster.start()
        log = self.work / "install.log"
        cmd = [
            *self.odoo_cmd,
            *self.odoo_args(),
            "-d",
            self.db,
            "-i",
            self.MODULES,
            "--without-demo=all",
            "--stop-after-init",
            "--no-http",
            "--max-cron-threads=0",
            "--log-level=warn",
        ]
        start = time.monotonic()
        with open(log, "w", encoding="utf-8") as fh:
            done = subprocess.run(
                cmd,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=tier.env_with_support(),
                check=False,
            )
        if done.returncode:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise SystemExit(f"installing {self.MODULES} failed ({log}):\n{tail}")
        self.conn = self.target.connect(self.db)
        self.cr = self.conn.cursor()
        queued = state.has_queue_job(self.cr)
        base_wide = tier.SERVER_WIDE.get(self.args.base, "base,web")
        self.server_wide = servers.with_queue_job(base_wide) if queued else base_wide
        print(
            f"set-up: {self.args.base} base installed into {self.db} in "
            f"{time.monotonic() - start:.0f} s (queue_job "
            f"{'installed' if queued else 'absent'})",
            flush=True,
        )

    def start_server(self):
        port = pg.free_port()
        log = self.work / f"server-{port}.log"
        limits = servers.workers_args(
            self.args.workers,
            self.args.cron_workers,
            self.args.limit_time_real,
            self.args.limit_time_cpu,
            self.args.limit_memory_soft_mib,
            self.args.limit_memory_hard_mib,
        )
        cmd = [
            *self.odoo_cmd,
            *self.odoo_args(),
            "-d",
            self.db,
            *([f"--db-filter=^{self.db}$"] if self.DB_FILTER else []),
            f"--http-port={port}",
            "--http-interface=127.0.0.1",
            "--without-demo=all",
            f"--load={self.server_wide}",
            *limits,
            "--log-level=info",
            "--log-handler=werkzeug:WARNING",
        ]
        env = dict(
            tier.env_with_support(),
            PYTHONUNBUFFERED="1",
            **servers.queue_job_env(self.args.channels),
        )
        shim = servers.gevent_metadata_shim(self.odoo_cmd[0], self.work / "gevent-shim")
        if shim:
            print(
                "set-up: this venv's gevent cannot load its plugins (zope.interface "
                "/ zope.event metadata names; pin zope.interface<7.1 and "
                "zope.event<5.1): a metadata shim on PYTHONPATH lets Odoo's "
                "gevent process start instead of being respawned every second",
                flush=True,
            )
        servers.prepend_pythonpath(env, shim)
        with open(log, "w", encoding="utf-8") as fh:
            fh.write("# " + " ".join(cmd) + "\n")
            fh.flush()
            process = subprocess.Popen(
                cmd,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.server = e2e.OdooServer(process, port, self.db, log)
        self.server.wait_ready(timeout=120)
        self.rpc = e2e.OdooRPC(
            self.server.url,
            self.db,
            "admin",
            "admin",
            timeout=self.args.limit_time_real + 60,
        )
        print(
            f"set-up: server pid {process.pid} on port {port}: "
            f"{' '.join(limits)} --load={self.server_wide} "
            f"channels root:{self.args.channels} (log {log})",
            flush=True,
        )

    def stop_server(self):
        if self.server:
            self.server.stop(timeout=60)
            self.server = None

    def make_data(self):
        start = time.monotonic()
        self.setup = programs.voucher_program(
            self.rpc,
            "Bench vouchers",
            directory="bench-vouchers",
            chunk_size=self.args.chunk_size,
        )
        count = max(
            self.args.payments,
            self.args.baseline_payments,
            self.args.baseline_probe,
            self.args.profile_payments,
            WARMUP,
        )
        self.partners = programs.registrants(
            self.rpc, self.cr, count, "Bench beneficiary"
        )
        print(
            f"set-up: program, manager (ES256 key), voucher config and {count} "
            f"registrants in {time.monotonic() - start:.1f} s; chunk field "
            f"{'present' if programs.has_chunk_field(self.rpc) else 'ABSENT'}",
            flush=True,
        )

    def cycle(self, label, count):
        start = time.monotonic()
        cycle = programs.approved_cycle(
            self.rpc,
            self.cr,
            self.setup["program"],
            f"Bench {label}",
            self.partners[:count],
        )
        print(
            f"set-up: cycle '{label}' with {count} approved entitlements in "
            f"{time.monotonic() - start:.1f} s",
            flush=True,
        )
        return cycle

    def filestore(self):
        return self.data_dir / "filestore" / self.db

    def close(self):
        self.stop_server()
        if self.conn is not None:
            self.conn.close()
        self.cluster.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
