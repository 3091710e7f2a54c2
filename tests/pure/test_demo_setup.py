"""The demo's Odoo-free parts: demo data, its simulator, the launcher's checks."""

import json
import socket
import sys
from pathlib import Path

import pytest

from g2p_payment_simple_mpesa.mpesa.client import SimpleMpesaClient

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "setup"))

import demo  # noqa: E402
import demo_data  # noqa: E402


def _iban_checksum_ok(iban):
    text = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in text)
    return int(digits) % 97 == 1


def test_registrants_are_deterministic_and_complete():
    people = demo_data.registrants()
    assert people == demo_data.registrants()
    assert len(people) == demo_data.REGISTRANTS == 50
    for key in ("email", "phone", "national_id", "acc_number", "iban"):
        values = [p[key] for p in people]
        assert all(values), key
        assert len(set(values)) == len(values), f"{key} values are not unique"
    assert all(p["phone"].startswith("+2547") and len(p["phone"]) == 13 for p in people)


def test_demo_ibans_pass_the_mod97_check():
    ibans = [p["iban"] for p in demo_data.registrants()]
    assert all(len(iban) == 22 and iban.startswith("DE") for iban in ibans)
    assert all(_iban_checksum_ok(iban) for iban in ibans)
    # The check itself rejects a typo, so the assertion above can fail.
    broken = ibans[0][:-1] + str((int(ibans[0][-1]) + 1) % 10)
    assert not _iban_checksum_ok(broken)


def test_demo_simulator_pays_a_registrant_through_the_real_client():
    person = demo_data.registrants()[0]
    sim = demo_data.simulator_server()
    base = sim.start()
    try:
        client = SimpleMpesaClient(
            f"{base}/api/login/agent",
            f"{base}/api/transaction/deposit",
            demo_data.AGENT_EMAIL,
            demo_data.AGENT_PASSWORD,
            timeout=5,
        )
        outcome = client.deposit(int(demo_data.AMOUNT), person["email"], "subscriber")
        client.close()
        assert outcome.kind == "ok", outcome
        assert sim.deposit_counts() == {person["email"]: 1}
        assert sim.balance_of(demo_data.AGENT_EMAIL) == (
            demo_data.AGENT_BALANCE - int(demo_data.AMOUNT)
        )
    finally:
        sim.stop()


def test_simulator_command_line_names_the_agent_and_every_registrant():
    args = demo_data.simulator_args("0.0.0.0", 6700)
    assert args[:4] == ["--host", "0.0.0.0", "--port", "6700"]
    assert args.count("--customer") == demo_data.REGISTRANTS
    agent = args[args.index("--agent") + 1]
    assert agent.startswith(demo_data.AGENT_EMAIL + ":")


class _FakeOdoo:
    """Records JSON-RPC calls; answers like Odoo (no "result" for None)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, request, timeout=None):
        body = json.loads(request.data)
        params = body["params"]
        self.calls.append((params["service"], params["method"], params["args"]))
        answer = self.answers.pop(0)
        payload = {"jsonrpc": "2.0", "id": body["id"]}
        payload.update(answer)
        return _Response(json.dumps(payload).encode())


class _Response:
    def __init__(self, data):
        self.data = data

    def read(self):
        return self.data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_json_rpc_logs_in_once_and_maps_none_and_errors(monkeypatch):
    fake = _FakeOdoo(
        [
            {"result": 2},  # login
            {},  # a method returning None: Odoo leaves "result" out
            {"error": {"message": "Odoo Server Error", "data": {"message": "boom"}}},
        ]
    )
    monkeypatch.setattr(demo_data._OPENER, "open", fake)
    rpc = demo_data.JsonRpc("http://odoo.invalid", "g2p_demo")
    assert rpc.call("g2p.entitlement", "approve_entitlement", [1]) is None
    with pytest.raises(demo_data.RpcError, match="boom"):
        rpc.call("g2p.cycle", "approve", [1])
    assert [c[:2] for c in fake.calls] == [
        ("common", "login"),
        ("object", "execute_kw"),
        ("object", "execute_kw"),
    ]


def test_load_refuses_a_half_loaded_database():
    def call(model, method, *args, **kw):
        if (model, method) == ("ir.config_parameter", "get_param"):
            return False
        if (model, method) == ("g2p.program", "search"):
            return [7]
        raise AssertionError(f"unexpected call {model}.{method}")

    with pytest.raises(demo_data.RpcError, match="--reset"):
        demo_data.load(call, log=lambda *_: None)


def test_load_does_nothing_when_the_marker_is_set():
    calls = []

    def call(model, method, *args, **kw):
        calls.append((model, method))
        return "2026-01-01 00:00:00"

    assert demo_data.load(call, log=lambda *_: None) is False
    assert calls == [("ir.config_parameter", "get_param")]


def test_port_taken_is_detected():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert demo.port_taken(port, "127.0.0.1")
    assert not demo.port_taken(port, "127.0.0.1")


def test_launcher_says_in_one_line_that_odoo_is_missing(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ODOO_SRC", str(tmp_path))
    monkeypatch.setenv("DEMO_WORK_DIR", str(tmp_path / "work"))
    assert demo.main([]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("demo: no Odoo 17 found")
    assert "ODOO_SRC" in out[0]


def test_demo_data_stays_stdlib_only_for_the_python_image():
    # docker-compose runs it in python:3.11-slim, where neither Odoo nor the
    # project's requirements are installed.
    text = (REPO / "setup" / "demo_data.py").read_text(encoding="utf-8")
    imports = [
        line.split()[1].split(".")[0]
        for line in text.splitlines()
        if line.startswith(("import ", "from "))
    ]
    assert imports
    assert all(name in sys.stdlib_module_names for name in imports), imports
