#!/usr/bin/env python3
"""Demo data and the demo's Mpesa simulator (stdlib only: no Odoo import).

The records are created through a ``call(model, method, *args, **kw)``
function with JSON-RPC semantics (ids in, ids out), so the same code runs from
the demo launcher, from docker-compose and from the end-to-end tests (whose
``rpc_factory(...).call`` has that signature).

Command line::

    python setup/demo_data.py load --url http://localhost:8069 --db g2p_demo \\
        --simulator-url http://127.0.0.1:6700
    python setup/demo_data.py simulator --port 6700   # funded agent + registrants
"""

import argparse
import importlib.util
import json
import random
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

if __name__ == "__main__":
    # Run as a script: the sibling modules' ``import demo_data`` is this one.
    sys.modules.setdefault("demo_data", sys.modules[__name__])

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SIMULATOR_PY = REPO / "tests" / "support" / "g2p_simulators" / "simple_mpesa.py"

MARKER_PARAM = "g2p_demo.loaded"
REGISTRANTS = 50
SEED = 1717
CURRENCY = "KES"
AMOUNT = 1500.0  # whole shillings: simple-mpesa deposits are unsigned integers
TRANSFER_FEE = 25.0
AGENT_EMAIL = "agent@demo.g2p.example"
AGENT_PASSWORD = "demo-agent-pass"  # the simulator's demo agent; not a real secret
AGENT_BALANCE = 10_000_000
ID_TYPE = "National ID"
COMPANY_NAME = "Demo Social Protection Agency"
VOUCHER_PROGRAM = "Demo Cash Vouchers"
MPESA_PROGRAM = "Demo Mobile Money (Mpesa)"
VOUCHER_CYCLE = "Voucher cycle 1"
MPESA_CYCLE = "Mpesa cycle 1"
CRON_XMLID = "g2p_payment_simple_mpesa.ir_cron_mpesa_disburse"
MPESA_MANAGER_MODEL = "g2p.program.payment.manager.simple.mpesa"

# The Daraja B2C program (setup/demo_daraja.py) and its simulator's app,
# shortcode and API operator: the simulator's test values, not real secrets.
DARAJA_PROGRAM = "Demo Mobile Money (Daraja B2C)"
DARAJA_CYCLE = "Daraja cycle 1"
DARAJA_MANAGER = "Demo Daraja payments"
DARAJA_CONSUMER_KEY = "demo-consumer-key"
DARAJA_CONSUMER_SECRET = "demo-consumer-secret"
DARAJA_SHORTCODE = "600980"
DARAJA_INITIATOR = "demo-initiator"
DARAJA_INITIATOR_PASSWORD = "Demo-Initiator-Pass1"
DARAJA_BALANCE = 10_000_000
# Results are posted this many seconds after a payment is accepted, so the
# officer sees "Accepted, awaiting result" before "Paid".
DARAJA_CALLBACK_DELAY = 3.0
DARAJA_TOKEN_PATH = "/oauth/v1/generate?grant_type=client_credentials"
DARAJA_PAYMENT_PATH = "/mpesa/b2c/v3/paymentrequest"

# The voucher: a quarter of an A4 sheet (the file config prints 4 per sheet,
# with cut marks, in one print run per batch), a signed QR code (JWT, ES256
# by default) an external verifier checks against /jwks.json, and the full
# payment reference as a Code-128 barcode.  Every detail it prints is among
# the signed claims (VOUCHER_CLAIMS); its dates are read from the signed code.
VOUCHERS_PER_PAGE = "4"
VOUCHER_VALIDITY_DAYS = 90
# The template (QWeb) is kept as HTML next to this file.
VOUCHER_TEMPLATE = (HERE / "demo_voucher.html").read_text(encoding="utf-8")[:-1]

VOUCHER_CLAIMS = """{
  "payment": {{ json_dumps(object.name) }},
  "beneficiary": {{ json_dumps(object.partner_id.name) }},
  "national_id": {{ json_dumps(object.partner_id.reg_ids[:1].value or None) }},
  "phone": {{ json_dumps(object.partner_id.phone or None) }},
  "amount": {{ json_dumps(object.amount_issued) }},
  "currency": {{ json_dumps(object.currency_id.name) }},
  "program": {{ json_dumps(object.program_id.name) }},
  "cycle": {{ json_dumps(object.cycle_id.name) }},
  "agency": {{ json_dumps(company.name) }}
}"""
# The barcode carries the payment reference exactly as printed.
VOUCHER_BARCODE = "{{ object.name }}"

WHAT_TO_CLICK = (
    f"Programs > Cycles > Cycles > '{VOUCHER_CYCLE}' ({VOUCHER_PROGRAM})"
    " > Prepare Payments (50 payments, each with a voucher PDF)",
    "Print Runs tab of that cycle: one PDF per batch to print, 4 vouchers per A4"
    " sheet with cut marks",
    "Payments smart button > open a payment > Files: open the voucher and download"
    " the PDF (signed QR code with its dates + the full reference as Code 128)",
    "Verify its QR code offline against the JWKS (command below)",
    f"Programs > Cycles > Cycles > '{MPESA_CYCLE}' ({MPESA_PROGRAM})"
    " > Prepare Payments, then Send Payments: the batches become due",
    "Within a minute the cron 'Mpesa: disburse due payment batches' pays them"
    " through the simulator: Payment Batches tab / Payments turn Paid",
    f"Programs > Cycles > Cycles > '{DARAJA_CYCLE}' ({DARAJA_PROGRAM})"
    " > Prepare Payments, then Send Payments: the cron sends them to the Daraja"
    " simulator 8 at a time; they show 'Accepted, awaiting result' until its"
    " result callbacks (a few seconds later) make them Paid with an M-Pesa receipt",
)

FIRST_NAMES = tuple(
    (
        "Amina Baraka Chebet Daudi Esther Faraji Grace Hassan Imani Jabari Kamau Lulu "
        "Makena Njeri Otieno Pendo Rehema Saida Tumaini Wanjiru Zawadi Kibet Akinyi "
        "Mwangi"
    ).split()
)
LAST_NAMES = tuple(
    (
        "Achieng Barasa Chege Gitau Kariuki Kiprono Kiptoo Langat Macharia Mutua "
        "Njoroge Ochieng Odhiambo Omondi Owino Rotich Wafula Wambui"
    ).split()
)


# --------------------------------------------------------------------------
# The registrants (deterministic, so the simulator knows their accounts)
# --------------------------------------------------------------------------


def _iban_de(bank_code, account):
    """A German IBAN with valid mod-97 check digits."""
    bban = f"{bank_code:08d}{account:010d}"
    # Country letters D=13, E=14, then "00" in place of the check digits.
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


def registrants(count=REGISTRANTS):
    rng = random.Random(SEED)
    people = []
    for n in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        account = rng.randrange(10**9, 10**10)
        people.append(
            {
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}.{n:02d}@demo.g2p.example",
                "phone": f"+2547{rng.randrange(10**7, 10**8):08d}",
                "national_id": f"NID-{rng.randrange(10**7, 10**8)}",
                "acc_number": f"{account}",
                "iban": _iban_de(37040044, account),
            }
        )
    return people


# --------------------------------------------------------------------------
# JSON-RPC client with the e2e fixtures' call() signature
# --------------------------------------------------------------------------


class RpcError(Exception):
    pass


# Loopback and compose-network addresses: never through a proxy from the env.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class JsonRpc:
    def __init__(self, url, db, login="admin", password="admin", timeout=300):
        self.url = url.rstrip("/")
        self.db = db
        self.login = login
        self.password = password
        self.timeout = timeout
        self._uid = None

    def _post(self, service, method, *args):
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {"service": service, "method": method, "args": list(args)},
            }
        ).encode()
        req = urllib.request.Request(
            f"{self.url}/jsonrpc",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with _OPENER.open(req, timeout=self.timeout) as resp:
            answer = json.loads(resp.read())
        if answer.get("error"):
            data = answer["error"].get("data") or {}
            raise RpcError(data.get("message") or answer["error"].get("message"))
        return answer.get("result")

    @property
    def uid(self):
        if self._uid is None:
            self._uid = self._post(
                "common", "login", self.db, self.login, self.password
            )
            if not self._uid:
                raise RpcError(f"login {self.login} refused by database {self.db}")
        return self._uid

    def call(self, model, method, *args, **kw):
        return self._post(
            "object",
            "execute_kw",
            self.db,
            self.uid,
            self.password,
            model,
            method,
            list(args),
            kw,
        )


def wait_for_odoo(url, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _OPENER.open(f"{url.rstrip('/')}/web/health", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


# --------------------------------------------------------------------------
# Loading (the records themselves: demo_records.py)
# --------------------------------------------------------------------------


def load(call, simulator_url="http://127.0.0.1:6700", count=REGISTRANTS, log=print):
    """Create the demo records; does nothing when they are already there."""
    import demo_records  # noqa: PLC0415 - it builds on this module's names

    return demo_records.load(call, simulator_url, count, log)


def summary(call):
    programs = call("g2p.program", "search_count", [])
    partners = call("res.partner", "search_count", [("is_registrant", "=", True)])
    ents = call("g2p.entitlement", "search_count", [("state", "=", "approved")])
    payments = call("g2p.payment", "search_count", [])
    return (
        f"{programs} programs, {partners} registrants, {ents} approved "
        f"entitlements, {payments} payments"
    )


def jwks_path(call):
    rows = call(
        "fastapi.endpoint",
        "search_read",
        [("app", "=", "payment")],
        ["root_path"],
        limit=1,
    )
    root = rows[0]["root_path"] if rows else "/apiv1payment"
    return f"{root.rstrip('/')}/jwks.json"


def smoke_check(jwks_url, simulator_url):
    with _OPENER.open(jwks_url, timeout=30) as resp:
        keys = json.loads(resp.read()).get("keys") or []
    if not keys:
        raise RpcError(f"{jwks_url} lists no keys")
    with _OPENER.open(f"{simulator_url}/_sim/state", timeout=10) as resp:
        state = json.loads(resp.read())
    if AGENT_EMAIL not in json.dumps(state):
        raise RpcError(f"the simulator at {simulator_url} has no agent {AGENT_EMAIL}")


# --------------------------------------------------------------------------
# The simulator, seeded with the demo agent and the registrants' accounts
# --------------------------------------------------------------------------


def simulator_args(host="127.0.0.1", port=6700):
    args = [
        "--host",
        host,
        "--port",
        str(port),
        "--agent",
        f"{AGENT_EMAIL}:{AGENT_PASSWORD}:{AGENT_BALANCE}",
    ]
    for person in registrants():
        args += ["--customer", f"{person['email']}:subscriber"]
    return args


def _simulator_module():
    # Loaded by path: the docker image has only this repository, no PYTHONPATH.
    spec = importlib.util.spec_from_file_location("g2p_demo_simulator", SIMULATOR_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_simulator(host, port):
    _simulator_module().main(simulator_args(host, port))


def simulator_server():
    """An in-process simulator with the demo accounts (``.start()`` -> base URL)."""
    return _simulator_module().SimulatorServer(
        agents=[(AGENT_EMAIL, AGENT_PASSWORD, AGENT_BALANCE)],
        customers=[(p["email"], "subscriber") for p in registrants()],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_load = sub.add_parser("load", help="load the demo records over JSON-RPC")
    p_load.add_argument("--url", default="http://127.0.0.1:8069")
    p_load.add_argument("--db", default="g2p_demo")
    p_load.add_argument("--login", default="admin")
    p_load.add_argument("--password", default="admin")
    p_load.add_argument("--simulator-url", default="http://127.0.0.1:6700")
    p_load.add_argument(
        "--daraja-url",
        help="the Daraja B2C simulator: also create the Daraja program (demo_daraja)",
    )
    p_load.add_argument(
        "--callback-base",
        help="Odoo's address as the Daraja simulator reaches it (default --url)",
    )
    p_load.add_argument(
        "--wait", type=int, default=900, help="seconds to wait for Odoo to answer"
    )
    p_sim = sub.add_parser("simulator", help="run the simulator with the demo accounts")
    p_sim.add_argument("--host", default="127.0.0.1")
    p_sim.add_argument("--port", type=int, default=6700)
    args = parser.parse_args(argv)
    if args.command == "simulator":
        run_simulator(args.host, args.port)
        return 0
    wait_for_odoo(args.url, args.wait)
    rpc = JsonRpc(args.url, args.db, args.login, args.password)
    try:
        load(rpc.call, simulator_url=args.simulator_url)
        if args.daraja_url:
            import demo_daraja  # noqa: PLC0415 - it imports this module

            demo_daraja.ensure(
                rpc.call, args.daraja_url, args.callback_base or args.url
            )
    except RpcError as exc:
        print(f"demo data: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
