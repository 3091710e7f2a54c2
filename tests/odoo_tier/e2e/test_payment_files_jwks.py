"""End to end: vouchers prepared over JSON-RPC verify offline against the JWKS
the running server publishes, until their key is revoked.

Everything goes over HTTP like a real deployment: JSON-RPC to set up a program
and prepare its payments, GET <root>/jwks.json for the keys, and the standalone
verifier (g2p_payment_files/vouchers/verify.py, run as a script and imported
from its file) to check the vouchers.
"""

import importlib.util
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VERIFY_PY = REPO / "g2p_payment_files" / "vouchers" / "verify.py"
JWKS_PATHS = ("/apiv1payment/jwks.json", "/apiv1payment/.well-known/jwks.json")
CLAIMS_TEMPLATE = (
    '{"payment": {{ json_dumps(object.name) }}, '
    '"beneficiary": {{ json_dumps(object.partner_id.name) }}, '
    '"amount": {{ object.amount_issued }}}'
)
VOUCHER_TEMPLATE = (
    "<html><body><h1>Voucher <t t-out='object.name'/></h1>"
    "<img t-att-src=\"qrcodes.get_by_name('jwt').content_htmlsafe\"/>"
    "<img t-att-src=\"qrcodes.get_by_name('cwt').content_htmlsafe\"/>"
    "</body></html>"
)
MANAGER_REF = "g2p.program.payment.manager.file,%d"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _load_verifier():
    spec = importlib.util.spec_from_file_location("standalone_verify", VERIFY_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _verify_cli(jwks_url, payload, *extra):
    return subprocess.run(
        [sys.executable, str(VERIFY_PY), "--jwks", jwks_url, *extra, payload],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _setup_program(rpc, count=2):
    store = rpc.call("storage.backend", "create", {"name": "E2E vouchers"})
    program = rpc.call(
        "g2p.program",
        "create",
        {"name": "E2E files program", "supporting_documents_store": store},
    )
    partners = rpc.call(
        "res.partner",
        "create",
        [
            {"name": "E2E beneficiary %d" % i, "is_registrant": True}
            for i in range(count)
        ],
    )
    cycle = rpc.create_cycle(program, "E2E cycle")
    rpc.call(
        "g2p.entitlement",
        "create",
        [
            {
                "partner_id": partner,
                "cycle_id": cycle,
                "initial_amount": 50.0 + i,
                "state": "approved",
            }
            for i, partner in enumerate(partners)
        ],
    )
    file_config = rpc.call(
        "g2p.payment.file.config",
        "create",
        {
            "name": "E2E voucher",
            "type": "pdf",
            "body_string": VOUCHER_TEMPLATE,
            "qrcode_config_ids": [
                [
                    0,
                    0,
                    {
                        "name": "jwt",
                        "data_type": "jwt",
                        "body_string": CLAIMS_TEMPLATE,
                        "validity_days": 90,
                    },
                ],
                [
                    0,
                    0,
                    {
                        "name": "cwt",
                        "data_type": "cwt",
                        "body_string": CLAIMS_TEMPLATE,
                        "cwt_prefix": "G2P:",
                    },
                ],
            ],
        },
    )
    manager = rpc.call(
        "g2p.program.payment.manager.file",
        "create",
        {
            "name": "E2E file manager",
            "program_id": program,
            "create_batch": False,
            "payment_file_config_ids": [[6, 0, [file_config]]],
            # Both bases pay only tag-matched entitlements, batched or not.
            "batch_tag_ids": [[0, 0, {"name": "All", "order": 1, "domain": "[]"}]],
        },
    )
    rpc.link_payment_manager(program, "g2p.program.payment.manager.file", manager)
    return cycle, manager


def _vouchers(rpc, cycle):
    payments = rpc.call(
        "g2p.payment",
        "search_read",
        [("cycle_id", "=", cycle)],
        fields=["name", "amount_issued", "payment_file_ids"],
    )
    codes = rpc.call(
        "g2p.payment.file.qrcode",
        "search_read",
        [("payment_id", "in", [p["id"] for p in payments])],
        fields=["payment_id", "qrcode_config_id", "data"],
    )
    by_payment = {p["id"]: dict(p, codes={}) for p in payments}
    for code in codes:
        config_name = code["qrcode_config_id"][1]
        by_payment[code["payment_id"][0]]["codes"][config_name] = code["data"]
    return list(by_payment.values())


def test_vouchers_verify_offline_against_served_jwks_until_revoked(
    odoo_db, odoo_server_factory, rpc_factory
):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    verifier = _load_verifier()
    cycle, manager = _setup_program(rpc)

    rpc.call("g2p.cycle", "prepare_payment", [cycle])
    vouchers = _vouchers(rpc, cycle)
    assert len(vouchers) == 2
    for voucher in vouchers:
        assert len(voucher["payment_file_ids"]) == 1
        assert set(voucher["codes"]) == {"jwt", "cwt"}

    jwks_url = server.url + JWKS_PATHS[0]
    status, headers, body = _get(jwks_url, {"Origin": "https://verifier.example"})
    assert status == 200
    headers = {k.lower(): v for k, v in headers.items()}
    assert headers["access-control-allow-origin"] == "*"
    assert headers["cache-control"].startswith("public, max-age=")
    jwks = json.loads(body)
    for member in ("d", "p", "q", "dp", "dq", "qi"):
        assert all(member not in key for key in jwks["keys"])
    status_wk, _headers, body_wk = _get(server.url + JWKS_PATHS[1])
    assert status_wk == 200 and json.loads(body_wk) == jwks
    status_304, _headers, body_304 = _get(jwks_url, {"If-None-Match": headers["etag"]})
    assert (status_304, body_304) == (304, b"")

    [old_key] = rpc.call(
        "g2p.program.payment.manager.file", "read", [manager], ["active_key_set_id"]
    )
    old_key_id = old_key["active_key_set_id"][0]
    for voucher in vouchers:
        claims = verifier.verify_payload(voucher["codes"]["jwt"], jwks)
        assert claims["payment"] == voucher["name"]
        assert claims["amount"] == voucher["amount_issued"]
        assert claims["exp"] - claims["iat"] == 90 * 86400
        cwt_claims = verifier.verify_payload(
            voucher["codes"]["cwt"], jwks, cwt_prefix="G2P:"
        )
        assert cwt_claims["payment"] == voucher["name"]
    # The script itself, fetching the JWKS over HTTP like an external verifier.
    done = _verify_cli(jwks_url, vouchers[0]["codes"]["jwt"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["payment"] == vouchers[0]["name"]

    # Rotation: the old key is retired but still published.
    rpc.call("g2p.program.payment.manager.file", "action_rotate_key", [manager])
    _status, _headers, body = _get(jwks_url)
    jwks = json.loads(body)
    assert len(jwks["keys"]) >= 2
    claims = verifier.verify_payload(vouchers[0]["codes"]["jwt"], jwks)
    assert claims["payment"] == vouchers[0]["name"]

    # Revocation: the old key leaves the JWKS and its vouchers stop verifying.
    rpc.call("g2p.crypto.key.set", "action_revoke", [old_key_id])
    _status, _headers, body = _get(jwks_url)
    jwks = json.loads(body)
    for voucher in vouchers:
        with pytest.raises(verifier.VerificationError, match="revoked"):
            verifier.verify_payload(voucher["codes"]["jwt"], jwks)
        with pytest.raises(verifier.VerificationError, match="revoked"):
            verifier.verify_payload(voucher["codes"]["cwt"], jwks, cwt_prefix="G2P:")
    done = _verify_cli(jwks_url, vouchers[0]["codes"]["cwt"], "--cwt-prefix", "G2P:")
    assert done.returncode == 1
    assert "revoked" in done.stderr


def test_broken_payload_template_is_a_clear_rpc_error_and_leaves_nothing(
    odoo_db, odoo_server_factory, rpc_factory, odoo_rpc_error
):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    cycle, _manager = _setup_program(rpc, count=1)
    [jwt_config] = rpc.call(
        "g2p.payment.file.qrcode.config", "search", [("name", "=", "jwt")]
    )
    rpc.call(
        "g2p.payment.file.qrcode.config",
        "write",
        [jwt_config],
        {"body_string": '{"payment": {{ object.name }}}'},
    )
    with pytest.raises(odoo_rpc_error) as info:
        rpc.call("g2p.cycle", "prepare_payment", [cycle])
    assert info.value.name == "odoo.exceptions.UserError"
    assert "not valid JSON" in info.value.message
    assert "E2E voucher" in info.value.message
    assert rpc.call("g2p.payment", "search_count", [("cycle_id", "=", cycle)]) == 0
    assert rpc.call("g2p.payment.file.qrcode", "search_count", []) == 0


def test_manager_without_batch_tags_is_a_clear_rpc_error_not_an_empty_run(
    odoo_db, odoo_server_factory, rpc_factory, odoo_rpc_error
):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    cycle, manager = _setup_program(rpc, count=1)
    # Both bases pay only tag-matched entitlements: without a tag nobody would
    # be paid, so the manager refuses on the click.
    rpc.call(
        "g2p.program.payment.manager.file",
        "write",
        [manager],
        {"batch_tag_ids": [[5, 0, 0]]},
    )
    with pytest.raises(odoo_rpc_error) as info:
        rpc.call("g2p.cycle", "prepare_payment", [cycle])
    assert info.value.name == "odoo.exceptions.UserError"
    assert "E2E file manager" in info.value.message
    assert "domain []" in info.value.message
    assert rpc.call("g2p.payment", "search_count", [("cycle_id", "=", cycle)]) == 0
