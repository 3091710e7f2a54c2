"""The simulator's gateway surface and its private control API over HTTP."""

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from g2p_simulators.simple_mpesa import SimulatorServer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "support" / "g2p_simulators" / "simple_mpesa.py"
AGENT, PASSWORD = "agent@sim.test", "sim-pw"


@pytest.fixture
def sim():
    with SimulatorServer(
        agents={AGENT: (PASSWORD, 5_000)}, customers={"c@sim.test": "subscriber"}
    ) as server:
        yield server


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def _token(http, sim):
    answer = http.post(sim.auth_url, data={"email": AGENT, "password": PASSWORD})
    return {"Authorization": "Bearer " + answer.json()["token"]}


def test_login_answers_like_simple_mpesa(sim, http):
    ok = http.post(sim.auth_url, json={"email": AGENT, "password": PASSWORD})
    assert ok.status_code == 200
    assert set(ok.json()) == {"userId", "userType", "token"}
    assert ok.json()["userType"] == "agent"
    bad = http.post(sim.auth_url, data={"email": AGENT, "password": "nope"})
    assert bad.status_code == 401
    assert bad.json()["message"] == "provided credentials are invalid"
    unknown = http.post(sim.auth_url, data={"email": "x@y.z", "password": "p"})
    assert (unknown.status_code, unknown.json()["message"]) == (400, "user not found")
    missing = http.post(sim.auth_url, data={})
    assert missing.status_code == 400
    assert [e["message"] for e in missing.json()] == [
        "email is a required field",
        "password is a required field",
    ]
    wrong_type = http.post(sim.base_url + "/api/login/wizard", data={"email": AGENT})
    assert wrong_type.status_code == 404 and wrong_type.content == b""


def test_authorization_messages(sim, http):
    url = sim.base_url + "/api/account/balance"
    assert http.get(url).json()["message"] == "authorization header not set"
    assert (
        http.get(url, headers={"Authorization": "Bearer "}).json()["message"]
        == "authentication token not set"
    )
    forged = http.get(url, headers={"Authorization": "Bearer a.b.c"})
    assert forged.status_code == 401
    assert forged.json()["message"] == "token has expired or is invalid"


def test_deposit_balance_statement_bodies(sim, http):
    auth = _token(http, sim)
    empty = http.get(sim.base_url + "/api/account/statement", headers=auth).json()
    assert empty["data"]["transactions"] is None
    deposit = http.post(
        sim.payment_url,
        headers=auth,
        data={"amount": "25", "accountNo": "c@sim.test", "customerType": "subscriber"},
    )
    assert deposit.status_code == 200
    assert deposit.json()["status"] == "success"
    assert "under processing" in deposit.json()["data"]["message"]
    balance = http.get(sim.base_url + "/api/account/balance", headers=auth).json()
    assert balance["data"]["balance"] == 4_975
    assert balance["message"] == "Your current balance is 4975"
    poor = http.post(
        sim.payment_url,
        headers=auth,
        data={
            "amount": "9999",
            "accountNo": "c@sim.test",
            "customerType": "subscriber",
        },
    )
    assert poor.status_code == 500
    assert poor.json()["message"] == (
        "cannot debit amount, account balance not enough. Amount: 9999 Balance: 4975"
    )
    fraction = http.post(
        sim.payment_url,
        headers=auth,
        data={
            "amount": "10.5",
            "accountNo": "c@sim.test",
            "customerType": "subscriber",
        },
    )
    assert fraction.status_code == 400


def test_auto_register_is_off_by_default(sim, http):
    auth = _token(http, sim)
    data = {"amount": "10", "accountNo": "new@sim.test", "customerType": "subscriber"}
    assert http.post(sim.payment_url, headers=auth, data=data).status_code == 400
    http.post(sim.base_url + "/_sim/config", json={"auto_register": True})
    assert http.post(sim.payment_url, headers=auth, data=data).status_code == 200
    assert sim.deposit_count("new@sim.test") == 1


def test_control_api_faults_counts_and_reset(sim, http):
    auth = _token(http, sim)
    data = {"amount": "10", "accountNo": "c@sim.test", "customerType": "subscriber"}
    added = http.post(
        sim.base_url + "/_sim/faults",
        json={"faults": [{"kind": "status", "status": 503, "nth": 1}]},
    )
    assert added.status_code == 200 and added.json()["faults"][0]["kind"] == "status"
    assert http.post(sim.payment_url, headers=auth, data=data).status_code == 503
    assert http.post(sim.payment_url, headers=auth, data=data).status_code == 200
    counts = http.get(sim.base_url + "/_sim/deposits").json()
    assert counts["counts"] == {"c@sim.test": 1} and counts["requests"] == 2
    assert http.get(sim.base_url + "/_sim/faults").json()["faults"][0]["fired"] == 1
    bad = http.post(sim.base_url + "/_sim/faults", json={"kind": "meteor"})
    assert bad.status_code == 400
    assert http.delete(sim.base_url + "/_sim/faults").json() == {"faults": []}
    http.post(sim.base_url + "/_sim/expire_tokens")
    assert http.post(sim.payment_url, headers=auth, data=data).status_code == 401
    state = http.post(sim.base_url + "/_sim/reset").json()
    assert state["agents"] == {AGENT: 5_000} and state["deposits"] == 0
    assert http.get(sim.base_url + "/_sim/deposits").json()["counts"] == {}


def test_control_api_registers_accounts_and_can_be_disabled(http):
    with SimulatorServer(agents=[(AGENT, PASSWORD, 100)], control=True) as sim:
        http.post(
            sim.base_url + "/_sim/customers",
            json={"customers": [{"account": "m@sim.test", "type": "merchant"}]},
        )
        http.post(
            sim.base_url + "/_sim/agents",
            json={"agents": [{"email": "b@sim.test", "password": "x", "balance": 7}]},
        )
        state = http.get(sim.base_url + "/_sim/state").json()
        assert state["customers"] == {"m@sim.test": 0}
        assert state["agents"]["b@sim.test"] == 7
    with SimulatorServer(agents=[(AGENT, PASSWORD, 100)], control=False) as sim:
        assert http.get(sim.base_url + "/_sim/deposits").status_code == 404


def test_deposit_counts_are_thread_safe(sim):
    sim.state.agents[AGENT]["balance"] = 10**9
    with requests.Session() as s:
        auth = _token(s, sim)

    def pay(_):
        with requests.Session() as s:
            return s.post(
                sim.payment_url,
                headers=auth,
                data={
                    "amount": 10,
                    "accountNo": "c@sim.test",
                    "customerType": "subscriber",
                },
            ).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(pay, range(80))) == {200}
    assert sim.deposit_count("c@sim.test") == 80
    assert sim.balance_of(AGENT) == 10**9 - 800


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_runs_as_a_script(http):
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--port",
            str(port),
            "--agent",
            "cli@sim.test:pa:ss:300",
            "--customer",
            "c@sim.test:merchant",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                answer = http.post(
                    base + "/api/login/agent",
                    data={"email": "cli@sim.test", "password": "pa:ss"},
                )
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert answer.status_code == 200
        state = http.get(base + "/_sim/state").json()
        assert state["agents"] == {"cli@sim.test": 300}
        assert state["customers"] == {"c@sim.test": 0}
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_racy_mode_loses_concurrent_debits_but_not_serial_ones():
    customers = [f"r{i}@sim.test" for i in range(40)]
    with SimulatorServer(
        agents=[(AGENT, PASSWORD, 100_000)], customers=customers, racy=True
    ) as sim:
        with requests.Session() as s:
            auth = _token(s, sim)
            for account in customers[:10]:  # one at a time: exact
                s.post(
                    sim.payment_url,
                    headers=auth,
                    data={
                        "amount": 10,
                        "accountNo": account,
                        "customerType": "subscriber",
                    },
                )
        assert sim.balance_of(AGENT) == 100_000 - 100

        def pay(account):
            with requests.Session() as s:
                return s.post(
                    sim.payment_url,
                    headers=auth,
                    data={
                        "amount": 10,
                        "accountNo": account,
                        "customerType": "subscriber",
                    },
                ).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(pay, customers[10:])) == {200}
        assert sum(sim.deposit_counts().values()) == 40
        # the real gateway's flaw: paid 40 times, debited fewer times
        assert sim.balance_of(AGENT) > 100_000 - 400
