#!/usr/bin/env python3
"""The demo, in one command (normally through ``bash setup/demo.sh``).

Starts PostgreSQL (a private cluster under ``.work/demo/`` unless PGHOST is
set), creates database ``g2p_demo`` with the stand-in base, both addons and
the OCA ``fastapi`` addon, starts the bundled simple-mpesa and Daraja B2C
gateway simulators and Odoo, loads the demo data once (and the Daraja
program, ``demo_daraja``), prints where to go, and waits.  Ctrl-C stops
everything; the next start reuses the database.

Settings (environment, all optional)::

    ODOO_SRC              Odoo 17 source tree (else an importable odoo 17)
    DEMO_BASE             standin (default) or openg2p: the real OpenG2P base,
                          whose addons dirs OPENG2P_ADDONS lists (setup/demo.sh
                          sets it from OPENG2P_SRC); database g2p_demo_openg2p
    DEMO_ODOO_PORT        8069        DEMO_SIMULATOR_PORT   6700
    DEMO_DARAJA_PORT      6800        (the Daraja B2C simulator)
    DEMO_DB               g2p_demo    DEMO_WORK_DIR         .work/demo
    DEMO_PG_PORT          55469       (port number of the private cluster's socket)
    DEMO_HTTP_INTERFACE   127.0.0.1   (0.0.0.0 to reach the demo from elsewhere)
    PGHOST/PGPORT/PGUSER  use this PostgreSQL server instead of a private cluster
"""

import argparse
import os
import shutil
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "odoo_tier"))
sys.path.insert(0, str(HERE))

import demo_daraja  # noqa: E402
import demo_data  # noqa: E402
import run as odoo_tier  # noqa: E402  (finding Odoo is shared with the test runner)
from demo_launch import (  # noqa: E402  (port_taken: the tests call it from here)
    MODULES,
    DemoError,
    Proc,
    db_state,
    demo_cluster,
    install,
    odoo_base_args,
    port_taken,  # noqa: F401
    preflight,
    tail_of,
    wait_http,
)

ADMIN_LOGIN = ADMIN_PASSWORD = "admin"


def say(text):
    print(f"demo: {text}", flush=True)


@contextmanager
def step(title, timings):
    say(f"{title} ...")
    start = time.monotonic()
    yield
    seconds = time.monotonic() - start
    timings.append((title, seconds))
    say(f"{title}: done in {seconds:.1f} s")


def settings():
    env = os.environ
    work = Path(env.get("DEMO_WORK_DIR") or REPO / ".work" / "demo").resolve()
    base = env.get("DEMO_BASE") or "standin"
    return argparse.Namespace(
        odoo_port=int(env.get("DEMO_ODOO_PORT") or 8069),
        sim_port=int(env.get("DEMO_SIMULATOR_PORT") or 6700),
        daraja_port=int(env.get("DEMO_DARAJA_PORT") or 6800),
        # One database per base: switching bases never reuses the other's.
        db=env.get("DEMO_DB")
        or ("g2p_demo" if base == "standin" else f"g2p_demo_{base}"),
        work=work,
        pg_port=int(env.get("DEMO_PG_PORT") or 55469),
        interface=env.get("DEMO_HTTP_INTERFACE") or "127.0.0.1",
        odoo_src=env.get("ODOO_SRC") or None,
        base=base,
        openg2p_addons=[p for p in (env.get("OPENG2P_ADDONS") or "").split(",") if p],
    )


def _python_for_user():
    """This interpreter (it has the verifier's libraries), short when in the repo."""
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(REPO))
    except ValueError:
        return str(exe)


def banner(cfg, host, jwks_path, counts):
    base = f"http://{host}:{cfg.odoo_port}"
    sim = f"http://127.0.0.1:{cfg.sim_port}"
    daraja = f"http://127.0.0.1:{cfg.daraja_port}"
    lines = [
        "",
        "=" * 72,
        " OpenG2P payments demo is running",
        f"   Backend    {base}/web",
        f"   Login      {ADMIN_LOGIN} / password {ADMIN_PASSWORD}",
        f"   JWKS       {base}{jwks_path}",
        f"   Simulator  {sim}/api   (balances: {sim}/_sim/state)",
        f"   Daraja     {daraja}   (deposits per phone: {daraja}/_sim/ledger)",
        f"   Logs       {cfg.work / 'odoo.log'}, {cfg.work / 'simulator.log'}, "
        f"{cfg.work / 'daraja.log'}",
        f"   Data       {counts}",
        "",
        " What to click:",
        *[f"   {i}. {text}" for i, text in enumerate(demo_data.WHAT_TO_CLICK, 1)],
        "",
        " Verify a downloaded voucher's QR code offline against the JWKS:",
        "   pdftoppm -r 200 -png voucher.pdf voucher",
        "   zbarimg --raw -q -Sdisable -Sqrcode.enable voucher-1.png \\",
        f"     | {_python_for_user()} g2p_payment_files/vouchers/verify.py \\",
        f"         --jwks {base}{jwks_path} -",
        "",
        f" Ctrl-C stops everything; the next start reuses database {cfg.db}.",
        "=" * 72,
        "",
    ]
    print("\n".join(lines), flush=True)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def start_simulator(name, script, port, log, health_url, what):
    """Start ``setup/<script...>`` on 127.0.0.1:``port``; returned once it answers."""
    proc = Proc(
        name,
        [sys.executable, str(HERE / script[0]), *script[1:]]
        + ["--host", "127.0.0.1", "--port", str(port)],
        log,
    )
    try:
        wait_http(health_url, proc, 30, what)
    except BaseException:
        proc.stop()  # not in the caller's list yet: nobody else would stop it
        raise
    return proc


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Start the demo (PostgreSQL, Mpesa simulators, Odoo).",
        epilog="Settings come from the environment; see the module docstring.",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="drop the demo database first and load everything anew",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="update the addons (-u) before starting, after a code change",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="start, check the JWKS and the simulator, then stop (CI)",
    )
    args = parser.parse_args(argv)
    cfg = settings()
    timings = []
    procs = []
    cluster = None
    # Explicitly: a shell that starts us in the background ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    t0 = time.monotonic()
    try:
        odoo_cmd, odoo_src = preflight(cfg)
        cfg.work.mkdir(parents=True, exist_ok=True)
        addons_path = odoo_tier.default_addons_path(
            odoo_src, cfg.base, cfg.openg2p_addons
        )

        import pg  # noqa: PLC0415

        target = pg.external_target()
        with step("PostgreSQL", timings):
            if target is None:
                cluster = demo_cluster(cfg.work / "pg", cfg.pg_port)
                try:
                    target = cluster.start()
                except pg.ClusterError as exc:
                    raise DemoError(
                        f"PostgreSQL did not start: {str(exc)[-400:]}"
                    ) from None
                say(f"private cluster in {cluster.root} (socket only)")
            else:
                pg.wait_ready(target)
                say(f"using the server at PGHOST={target.host}")
            if args.reset:
                target.drop_db(cfg.db)
                shutil.rmtree(
                    cfg.work / "odoo-data" / "filestore" / cfg.db, ignore_errors=True
                )
                say(f"dropped database {cfg.db}")
            state = db_state(target, cfg.db)
        base_args = odoo_base_args(cfg, target, addons_path)

        if state in ("missing", "bare"):
            with step(
                f"creating {cfg.db} and installing {', '.join(MODULES)} "
                "(a few minutes the first time)",
                timings,
            ):
                install(cfg, odoo_cmd, base_args, MODULES)
            state = "installed"
        elif args.update:
            with step("updating the addons", timings):
                install(
                    cfg,
                    odoo_cmd,
                    base_args,
                    ("g2p_payment_files", "g2p_payment_simple_mpesa"),
                    mode="-u",
                )
        else:
            say(
                f"reusing database {cfg.db} (demo data already loaded)"
                if state == "loaded"
                else f"reusing database {cfg.db}"
            )

        sim_url = f"http://127.0.0.1:{cfg.sim_port}"
        with step("Mpesa simulator", timings):
            procs.append(
                start_simulator(
                    "simulator",
                    ["demo_data.py", "simulator"],
                    cfg.sim_port,
                    cfg.work / "simulator.log",
                    f"{sim_url}/_sim/state",
                    "the Mpesa simulator",
                )
            )

        daraja_url = f"http://127.0.0.1:{cfg.daraja_port}"
        with step("Daraja simulator", timings):
            procs.append(
                start_simulator(
                    "daraja simulator",
                    ["demo_daraja.py"],
                    cfg.daraja_port,
                    cfg.work / "daraja.log",
                    f"{daraja_url}/_sim/ledger",
                    "the Daraja simulator",
                )
            )

        with step("Odoo", timings):
            odoo = Proc(
                "odoo",
                [
                    *odoo_cmd,
                    *base_args,
                    "--http-port",
                    str(cfg.odoo_port),
                    f"--http-interface={cfg.interface}",
                    "--workers=0",
                    "--max-cron-threads=1",
                    "--log-level=info",
                ],
                cfg.work / "odoo.log",
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
            procs.insert(0, odoo)
            url = f"http://127.0.0.1:{cfg.odoo_port}"
            wait_http(f"{url}/web/health", odoo, 300, "Odoo")

        rpc = demo_data.JsonRpc(url, cfg.db, ADMIN_LOGIN, ADMIN_PASSWORD)
        if state != "loaded":
            with step("loading demo data", timings):
                demo_data.load(rpc.call, simulator_url=sim_url)
        # Every start: the simulator's certificate is new, the ports may be.
        demo_daraja.ensure(rpc.call, daraja_url, url, log=say)
        counts = demo_data.summary(rpc.call)
        jwks_path = demo_data.jwks_path(rpc.call)
        host = (
            "localhost" if cfg.interface in ("127.0.0.1", "0.0.0.0") else cfg.interface
        )
        banner(cfg, host, jwks_path, counts)
        say(
            "ready after "
            + ", ".join(f"{t}: {s:.0f} s" for t, s in timings)
            + f"; total {time.monotonic() - t0:.0f} s"
        )

        if args.smoke:
            demo_data.smoke_check(f"{url}{jwks_path}", sim_url)
            demo_daraja.smoke_check(rpc.call, daraja_url)
            say(
                "smoke check passed (JWKS has keys, simulator has the funded agent, "
                "the Daraja manager gets a token)"
            )
            return 0
        while all(p.alive() for p in procs):
            time.sleep(1)
        dead = next(p for p in procs if not p.alive())
        raise DemoError(
            f"{dead.name} exited with code {dead.popen.returncode}; last lines of "
            f"{dead.log_path}:\n{tail_of(dead.log_path)}"
        )
    except KeyboardInterrupt:
        print()
        say("stopping ...")
        return 0
    except DemoError as exc:
        say(str(exc))
        return 1
    except demo_data.RpcError as exc:
        say(f"loading the demo data failed: {exc}")
        return 1
    finally:
        for proc in procs:
            proc.stop()
        if cluster is not None:
            cluster.stop()
        if procs or cluster is not None:
            say("stopped" + (" (Odoo, simulators, PostgreSQL)" if cluster else ""))


if __name__ == "__main__":
    sys.exit(main())
