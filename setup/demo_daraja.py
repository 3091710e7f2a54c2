#!/usr/bin/env python3
"""The demo's Daraja B2C program, and the Daraja simulator it pays through.

``python setup/demo_daraja.py --port 6800`` runs the Daraja simulator of
``tests/support/g2p_simulators`` with the demo's app credentials (demo_data);
it posts each payment's result, DARAJA_CALLBACK_DELAY seconds after accepting
it, to the ResultURL the request named: the demo Odoo's Mpesa callbacks
endpoint.

``ensure(call, daraja_url, callback_base, log)`` runs on every start of the
demo, after the demo data: it creates the program *Demo Mobile Money (Daraja
B2C)* (a manager of gateway type daraja-b2c paying by phone, batches of 20,
an approved cycle of the demo registrants) when it is missing, and points the
manager at the running simulator: its URLs, the callback base URL and the
simulator's certificate, which is made afresh on every start.
"""

import argparse
import base64
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import demo_data  # noqa: E402
from demo_data import (  # noqa: E402
    AMOUNT,
    DARAJA_BALANCE,
    DARAJA_CALLBACK_DELAY,
    DARAJA_CONSUMER_KEY,
    DARAJA_CONSUMER_SECRET,
    DARAJA_CYCLE,
    DARAJA_INITIATOR,
    DARAJA_INITIATOR_PASSWORD,
    DARAJA_MANAGER,
    DARAJA_PAYMENT_PATH,
    DARAJA_PROGRAM,
    DARAJA_SHORTCODE,
    DARAJA_TOKEN_PATH,
    MPESA_MANAGER_MODEL,
    RpcError,
    registrants,
)
from demo_records import (  # noqa: E402
    _attach_manager,
    _currency,
    _cycle,
    _one,
    _program,
)

GATEWAY = "daraja-b2c"


# --------------------------------------------------------------------------
# The simulator (a process of its own, started by demo.py)
# --------------------------------------------------------------------------


def simulator_options():
    return {
        "consumer_key": DARAJA_CONSUMER_KEY,
        "consumer_secret": DARAJA_CONSUMER_SECRET,
        "shortcode": DARAJA_SHORTCODE,
        "initiator_name": DARAJA_INITIATOR,
        "initiator_password": DARAJA_INITIATOR_PASSWORD,
        "balance": DARAJA_BALANCE,
        "callback_delay": DARAJA_CALLBACK_DELAY,
        "delivery": "http",
    }


def run_simulator(host, port):
    sys.path.insert(0, str(REPO / "tests" / "support"))
    from g2p_simulators.daraja import DarajaSimulator  # noqa: PLC0415

    sim = DarajaSimulator(**simulator_options())
    print(f"Daraja simulator on {sim.start(host, port)}", flush=True)
    try:
        while True:
            time.sleep(3600)  # SIGTERM (demo.py) or Ctrl-C ends it
    except KeyboardInterrupt:
        sim.stop()


# --------------------------------------------------------------------------
# The program and its manager (over JSON-RPC, like demo_records)
# --------------------------------------------------------------------------


def _certificate(daraja_url):
    with demo_data._OPENER.open(f"{daraja_url}/_sim/certificate", timeout=10) as resp:
        return json.loads(resp.read())["pem"]


def manager_settings(daraja_url, callback_base):
    """What ties the manager to this run of the simulator and of Odoo."""
    base = daraja_url.rstrip("/")
    pem = _certificate(base)
    return {
        "auth_endpoint_url": base + DARAJA_TOKEN_PATH,
        "payment_endpoint_url": base + DARAJA_PAYMENT_PATH,
        "daraja_consumer_key": DARAJA_CONSUMER_KEY,
        "daraja_consumer_secret": DARAJA_CONSUMER_SECRET,
        "daraja_shortcode": DARAJA_SHORTCODE,
        "daraja_initiator_name": DARAJA_INITIATOR,
        "daraja_initiator_password": DARAJA_INITIATOR_PASSWORD,
        "daraja_certificate": base64.b64encode(pem.encode()).decode(),
        "daraja_certificate_filename": "daraja-simulator.cer",
        "daraja_callback_base_url": callback_base.rstrip("/"),
    }


def ensure(call, daraja_url, callback_base, log=print):
    """Create the Daraja program if missing; point its manager at the simulator.

    Returns True when the program was created now.
    """
    settings = manager_settings(daraja_url, callback_base)
    program = _one(call, "g2p.program", [("name", "=", DARAJA_PROGRAM)])
    manager = _one(
        call,
        MPESA_MANAGER_MODEL,
        [("name", "=", DARAJA_MANAGER), ("gateway_type", "=", GATEWAY)],
    )
    if program and manager:
        call(MPESA_MANAGER_MODEL, "write", [manager], settings)
        log(f"{DARAJA_MANAGER} points at the Daraja simulator {daraja_url}")
        return False
    if program or manager:
        raise RpcError(
            "the Daraja demo program is incomplete (an earlier start was "
            "interrupted): start over with `bash setup/demo.sh --reset`"
        )
    program = _program(call, DARAJA_PROGRAM, _currency(call))
    manager = call(
        MPESA_MANAGER_MODEL,
        "create",
        {
            "name": DARAJA_MANAGER,
            "program_id": program,
            "create_batch": True,
            "batch_tag_ids": [
                (
                    0,
                    0,
                    {
                        "name": "Demo Daraja batches",
                        "order": 1,
                        "domain": "[]",
                        "max_batch_size": 20,
                    },
                )
            ],
            # Daraja pays M-Pesa numbers: the registrants' phones.
            "payee_id_type": "phone",
            "gateway_type": GATEWAY,
            "api_timeout": 10,
            **settings,
        },
    )
    _attach_manager(call, program, MPESA_MANAGER_MODEL, manager)
    emails = [p["email"] for p in registrants()]
    partner_ids = call("res.partner", "search", [("email", "in", emails)], order="id")
    _cycle(call, program, DARAJA_CYCLE, partner_ids)
    log(
        f"{DARAJA_PROGRAM}: cycle '{DARAJA_CYCLE}' of {len(partner_ids)} entitlements "
        f"(KES {AMOUNT:,.0f} each), paid through the Daraja simulator {daraja_url}"
    )
    return True


def smoke_check(call, daraja_url):
    """The simulator answers and the manager gets a token with its settings."""
    with demo_data._OPENER.open(f"{daraja_url}/_sim/ledger", timeout=10) as resp:
        json.loads(resp.read())
    manager = _one(call, MPESA_MANAGER_MODEL, [("name", "=", DARAJA_MANAGER)])
    action = call(MPESA_MANAGER_MODEL, "action_mpesa_test_connection", [manager])
    params = (action or {}).get("params") or {}
    if params.get("type") == "danger":
        raise RpcError(f"{DARAJA_MANAGER}: Test Connection failed: {params}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="The demo's Daraja B2C simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6800)
    args = parser.parse_args(argv)
    run_simulator(args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
