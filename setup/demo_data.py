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
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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

# The voucher: a quarter of an A4 sheet (the file config prints 4 per sheet,
# with cut marks, in one print run per batch), a signed QR code (JWT, ES256
# by default) an external verifier checks against /jwks.json, and the full
# payment reference as a Code-128 barcode.  Every detail it prints is among
# the signed claims (VOUCHER_CLAIMS); its dates are read from the signed code.
VOUCHERS_PER_PAGE = "4"
VOUCHER_VALIDITY_DAYS = 90
VOUCHER_TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"/><title>Payment voucher</title>
<style>
  body { font-family: DejaVu Sans, Arial, sans-serif; margin: 0; color: #222;
         font-size: 13px; }
  .card { border: 2px solid #1f5f8b; border-radius: 8px; padding: 12px 14px; }
  h1 { color: #1f5f8b; font-size: 21px; margin: 0 0 2px 0; }
  .muted { color: #555; font-size: 11px; }
  table.facts { width: 100%; border-collapse: collapse; margin-top: 8px; }
  table.facts td { padding: 2px 0; vertical-align: top; }
  table.facts td.key { color: #555; width: 30%; }
  .amount { font-size: 21px; font-weight: bold; }
  .ref { font-family: DejaVu Sans Mono, monospace; font-size: 11px; }
  table.signed { margin-top: 8px; border-collapse: collapse; }
  table.signed td { vertical-align: middle; }
</style></head>
<body><div class="card">
  <h1>Payment voucher</h1>
  <div class="muted"><t t-out="object.program_id.name"/> -
    <t t-out="object.cycle_id.name"/><br/>Issued by <t t-out="company.name"/></div>
  <table class="facts">
    <tr><td class="key">Beneficiary</td>
        <td><b t-out="object.partner_id.name"/></td></tr>
    <tr><td class="key">National ID</td>
        <td t-out="object.partner_id.reg_ids[:1].value or '-'"/></tr>
    <tr><td class="key">Phone</td><td t-out="object.partner_id.phone or '-'"/></tr>
    <tr><td class="key">Amount</td><td class="amount"
        t-out="format_amount(object.amount_issued, object.currency_id)"/></tr>
    <tr><td class="key">Reference</td><td class="ref" t-out="object.name"/></tr>
  </table>
  <t t-set="qr" t-value="qrcodes.get_by_name('voucher_qr')"/>
  <t t-set="when" t-value="'d MMM y, HH:mm'"/>
  <table class="signed"><tr>
    <td><img style="width: 170px;" t-att-src="qr.content_htmlsafe"/></td>
    <td style="padding-left: 10px;">
      <div class="muted">Signed</div>
      <div><t t-out="format_datetime(qr.issued_at, 'UTC', when)"/> UTC</div>
      <div class="muted" style="margin-top: 6px;">Valid until</div>
      <div t-if="qr.expires_at">
        <b t-out="format_datetime(qr.expires_at, 'UTC', when)"/> UTC</div>
      <div t-else=""><b>no expiry</b></div>
      <div class="muted" style="margin-top: 6px;">Scan the QR code and verify it
        against the agency's published keys (JWKS).</div>
    </td></tr></table>
  <img style="width: 100%; margin-top: 6px;"
       t-att-src="qrcodes.get_by_name('voucher_barcode').content_htmlsafe"/>
  <div class="muted">Payment reference, in full (Code 128)</div>
  <p class="muted" style="margin: 8px 0 0 0;">The QR code is signed. It carries
    every detail printed above (program, cycle, agency, beneficiary, national ID,
    phone, amount and reference) and its signing and expiry dates. Pay only when
    it verifies, has not expired and what the scan shows matches this print.</p>
</div></body></html>"""

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
)

FIRST_NAMES = (
    "Amina",
    "Baraka",
    "Chebet",
    "Daudi",
    "Esther",
    "Faraji",
    "Grace",
    "Hassan",
    "Imani",
    "Jabari",
    "Kamau",
    "Lulu",
    "Makena",
    "Njeri",
    "Otieno",
    "Pendo",
    "Rehema",
    "Saida",
    "Tumaini",
    "Wanjiru",
    "Zawadi",
    "Kibet",
    "Akinyi",
    "Mwangi",
)
LAST_NAMES = (
    "Achieng",
    "Barasa",
    "Chege",
    "Gitau",
    "Kariuki",
    "Kiprono",
    "Kiptoo",
    "Langat",
    "Macharia",
    "Mutua",
    "Njoroge",
    "Ochieng",
    "Odhiambo",
    "Omondi",
    "Owino",
    "Rotich",
    "Wafula",
    "Wambui",
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
# Loading
# --------------------------------------------------------------------------


def _one(call, model, domain, **kw):
    ids = call(model, "search", domain, limit=1, **kw)
    return ids[0] if ids else False


def _xmlid(call, xmlid):
    module, name = xmlid.split(".", 1)
    rows = call(
        "ir.model.data",
        "search_read",
        [("module", "=", module), ("name", "=", name)],
        ["res_id"],
    )
    if not rows:
        raise RpcError(f"{xmlid} not found: is its module installed?")
    return rows[0]["res_id"]


def is_loaded(call):
    return bool(call("ir.config_parameter", "get_param", MARKER_PARAM))


def load(call, simulator_url="http://127.0.0.1:6700", count=REGISTRANTS, log=print):
    """Create the demo records; does nothing when they are already there."""
    if is_loaded(call):
        log("demo data already loaded")
        return False
    if _one(
        call,
        "g2p.program",
        [("name", "in", [VOUCHER_PROGRAM, MPESA_PROGRAM])],
        context={"active_test": False},
    ):
        raise RpcError(
            "a demo program exists but the demo data is incomplete (an earlier load "
            "was interrupted): start over with `bash setup/demo.sh --reset`"
        )
    company_id = _xmlid(call, "base.main_company")
    call("res.company", "write", [company_id], {"name": COMPANY_NAME})
    currency_id = _currency(call)
    partner_ids = _registrants(call, count)
    voucher_program = _program(call, VOUCHER_PROGRAM, currency_id)
    _file_manager(call, voucher_program)
    _cycle(call, voucher_program, VOUCHER_CYCLE, partner_ids)
    mpesa_program = _program(call, MPESA_PROGRAM, currency_id)
    _mpesa_manager(call, mpesa_program, simulator_url)
    _cycle(call, mpesa_program, MPESA_CYCLE, partner_ids)
    _cron(call)
    call("ir.config_parameter", "set_param", MARKER_PARAM, time.strftime("%F %T"))
    log(f"demo data loaded: {summary(call)}")
    return True


def _currency(call):
    cid = _one(
        call, "res.currency", [("name", "=", CURRENCY)], context={"active_test": False}
    )
    call("res.currency", "write", [cid], {"active": True})
    return cid


def _registrants(call, count):
    id_type = _one(call, "g2p.id.type", [("name", "=", ID_TYPE)]) or call(
        "g2p.id.type", "create", {"name": ID_TYPE}
    )
    vals = [
        {
            "name": p["name"],
            "is_registrant": True,
            "email": p["email"],
            "phone": p["phone"],
            "reg_ids": [(0, 0, {"id_type": id_type, "value": p["national_id"]})],
            "bank_ids": [(0, 0, {"acc_number": p["acc_number"], "iban": p["iban"]})],
        }
        for p in registrants(count)
    ]
    return call("res.partner", "create", vals)


def _program(call, name, currency_id):
    """A program paying in currency_id, on either base.

    The real OpenG2P base takes a program's currency from its disbursement
    journal; the stand-in carries it on the program.
    """
    fields = call("g2p.program", "fields_get", [], attributes=["type"])
    if "journal_id" not in fields:
        return call("g2p.program", "create", {"name": name, "currency_id": currency_id})
    code = "D%s" % (call("account.journal", "search_count", []) + 1)
    journal_id = call(
        "account.journal",
        "create",
        {
            "name": f"{name} disbursements",
            "code": code[:5],
            "type": "bank",
            "beneficiary_disb": True,
            "currency_id": currency_id,
        },
    )
    return call("g2p.program", "create", {"name": name, "journal_id": journal_id})


def _attach_manager(call, program_id, model, manager_id):
    """Make manager_id the program's payment manager.

    Both bases give a program one default payment manager and allow no
    second: point that row at ours.
    """
    ref = f"{model},{manager_id}"
    [row] = call("g2p.program", "read", [program_id], ["payment_managers"])
    if row["payment_managers"]:
        call(
            "g2p.program.payment.manager",
            "write",
            row["payment_managers"][:1],
            {"manager_ref_id": ref},
        )
        return
    vals = {"program_id": program_id, "manager_ref_id": ref}
    call("g2p.program", "write", [program_id], {"payment_managers": [(0, 0, vals)]})


def _file_manager(call, program_id):
    store_id = call("storage.backend", "create", {"name": "Demo voucher store"})
    call("g2p.program", "write", [program_id], {"supporting_documents_store": store_id})
    config_id = call(
        "g2p.payment.file.config",
        "create",
        {
            "name": "Demo voucher",
            "type": "pdf",
            "vouchers_per_page": VOUCHERS_PER_PAGE,
            "body_string": VOUCHER_TEMPLATE,
            "qrcode_config_ids": [
                (
                    0,
                    0,
                    {
                        "name": "voucher_qr",
                        "type": "qrcode",
                        "data_type": "jwt",
                        "body_string": VOUCHER_CLAIMS,
                        "validity_days": VOUCHER_VALIDITY_DAYS,
                        "qrcode_error_correct": "0",
                        "qrcode_box_size": 4,
                    },
                ),
                (
                    0,
                    0,
                    {
                        "name": "voucher_barcode",
                        "type": "code-128-barcode",
                        "data_type": "string",
                        "body_string": VOUCHER_BARCODE,
                    },
                ),
            ],
        },
    )
    model = "g2p.program.payment.manager.file"
    manager_id = call(
        model,
        "create",
        {
            "name": "Demo voucher payments",
            "program_id": program_id,
            "create_batch": True,
            "batch_tag_ids": [
                (
                    0,
                    0,
                    {
                        "name": "Demo vouchers",
                        "order": 1,
                        "domain": "[]",
                        "max_batch_size": 25,
                        "render_files_per_payment": True,
                        "file_config_ids": [(6, 0, [config_id])],
                    },
                )
            ],
            "payment_file_config_ids": [(6, 0, [config_id])],
        },
    )
    _attach_manager(call, program_id, model, manager_id)
    return manager_id


def _mpesa_manager(call, program_id, simulator_url):
    base = simulator_url.rstrip("/")
    model = "g2p.program.payment.manager.simple.mpesa"
    manager_id = call(
        model,
        "create",
        {
            "name": "Demo Mpesa payments",
            "program_id": program_id,
            "create_batch": True,
            "batch_tag_ids": [
                (
                    0,
                    0,
                    {
                        "name": "Demo Mpesa batches",
                        "order": 1,
                        "domain": "[]",
                        "max_batch_size": 20,
                    },
                )
            ],
            # simple-mpesa knows its customers by e-mail
            "payee_id_type": "email",
            "customer_type": "subscriber",
            "auth_endpoint_url": f"{base}/api/login/agent",
            "payment_endpoint_url": f"{base}/api/transaction/deposit",
            "api_timeout": 10,
            "username": AGENT_EMAIL,
            "password": AGENT_PASSWORD,
        },
    )
    _attach_manager(call, program_id, model, manager_id)
    return manager_id


def _cycle(call, program_id, name, partner_ids):
    """An approved cycle of this month with approved entitlements.

    Approved directly: the real base approves through cycle and entitlement
    managers (and funds) that a payments demo does not need.
    """
    today = date.today()
    cycle_id = call(
        "g2p.cycle",
        "create",
        {
            "name": name,
            "program_id": program_id,
            "start_date": today.replace(day=1).isoformat(),
            "end_date": today.isoformat(),
            "state": "approved",
        },
    )
    call(
        "g2p.entitlement",
        "create",
        [
            {
                "partner_id": pid,
                "cycle_id": cycle_id,
                "initial_amount": AMOUNT,
                "transfer_fee": TRANSFER_FEE,
                "state": "approved",
            }
            for pid in partner_ids
        ],
    )
    return cycle_id


def _cron(call):
    """The disbursement cron: active, and every minute so the demo moves."""
    cron_id = _xmlid(call, CRON_XMLID)
    call(
        "ir.cron",
        "write",
        [cron_id],
        {
            "active": True,
            "interval_number": 1,
            "interval_type": "minutes",
        },
    )
    return cron_id


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
    except RpcError as exc:
        print(f"demo data: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
