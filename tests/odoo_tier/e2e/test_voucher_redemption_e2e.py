"""Voucher redemption end to end: devices talk to a real Odoo server over HTTP.

50 concurrent redemptions of one voucher pay it once: 1 succeeds, 49 are
refused with the first one's time and point; retries with the same
transaction id get the same answer; nothing is paid twice.
"""

import json
import threading
import time
import urllib.error
import urllib.request
import uuid

from test_payment_files_jwks import _setup_program
from test_voucher_chunks_e2e import workers_server  # noqa: F401 - a fixture

ROOT = "/apiv1redemption"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _post(url, key, body, tries=8):
    """POST as a device does: a connection refused or reset (a busy server's
    full backlog) is sent again, same body and transaction id."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    for attempt in range(tries):
        try:
            with _OPENER.open(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except (ConnectionError, urllib.error.URLError):
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _point_with_device(rpc, name, program):
    point = rpc.call(
        "g2p.redemption.point",
        "create",
        {"name": name, "program_ids": [(6, 0, [program])]},
    )
    device = rpc.call(
        "g2p.redemption.device", "create", {"name": f"{name} till", "point_id": point}
    )
    action = rpc.call("g2p.redemption.device", "action_issue_key", [device])
    [wizard] = rpc.call(
        "g2p.redemption.device.key", "read", [action["res_id"]], ["key"]
    )
    return wizard["key"]


def _prepared_voucher_program(rpc, count):
    cycle, _manager = _setup_program(rpc, count=count)
    rpc.call("g2p.cycle", "prepare_payment", [cycle])
    [row] = rpc.call("g2p.cycle", "read", [cycle], ["program_id"])
    payments = rpc.call(
        "g2p.payment", "search_read", [("cycle_id", "=", cycle)], fields=["name"]
    )
    codes = rpc.call(
        "g2p.payment.file.qrcode",
        "search_read",
        [("payment_id", "in", [p["id"] for p in payments])],
        fields=["data", "payment_id", "qrcode_config_id"],
    )
    return row["program_id"][0], payments, codes


def test_fifty_concurrent_redemptions_of_one_voucher_pay_it_once(
    odoo_db,
    workers_server,  # noqa: F811 - the fixture imported above
    rpc_factory,
):
    # As in production: prefork workers, each request its own transaction.
    server = workers_server
    rpc = rpc_factory(server, odoo_db)
    program, payments, codes = _prepared_voucher_program(rpc, 2)
    keys = [_point_with_device(rpc, f"Shop {i}", program) for i in range(5)]
    code = codes[0]["data"]
    answers = [None] * 50
    start = threading.Barrier(50)

    def redeem(i):
        start.wait()
        answers[i] = _post(
            server.url + ROOT + "/vouchers/redeem",
            keys[i % 5],
            {"code": code, "transaction_id": f"txn-{i}"},
        )

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    statuses = [status for status, _body in answers]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == 49, statuses
    [winner] = [body for status, body in answers if status == 200]
    for status, body in answers:
        if status == 409:
            error = body["error"]
            assert error["code"] == "VOUCHER_ALREADY_REDEEMED"
            assert (error["redeemed_at"], error["point"]) == (
                winner["redeemed_at"],
                winner["point"],
            )
    paid_id = codes[0]["payment_id"][0]
    assert (
        rpc.call(
            "g2p.voucher.redemption", "search_count", [("payment_id", "=", paid_id)]
        )
        == 1
    )
    [payment] = rpc.call("g2p.payment", "read", [paid_id], ["status", "state"])
    assert (payment["status"], payment["state"]) == ("paid", "reconciled")
    # The winner's device retries (it never saw the answer): same answer.
    txn = winner["transaction_id"]
    index = int(txn.split("-")[1])
    status, again = _post(
        server.url + ROOT + "/vouchers/redeem",
        keys[index % 5],
        {"code": code, "transaction_id": txn},
    )
    assert (
        status == 200
        and again["replay"]
        and again["redeemed_at"] == winner["redeemed_at"]
    )
    refusals = rpc.call(
        "g2p.voucher.redemption.refusal",
        "search_count",
        [("error_code", "=", "VOUCHER_ALREADY_REDEEMED")],
    )
    assert refusals == 49
    # The other voucher is still payable.
    other = [c for c in codes if c["payment_id"][0] != paid_id][0]["data"]
    status, body = _post(
        server.url + ROOT + "/vouchers/check", keys[0], {"code": other}
    )
    assert status == 200 and body["status"] == "payable", body
    assert uuid.UUID(payments[0]["name"])


def _sync(server, key, items):
    return _post(server.url + ROOT + "/vouchers/sync", key, {"items": items})


def test_offline_batches_apply_once_through_a_crash_and_conflicts_are_disputed(
    odoo_db, odoo_server_factory, rpc_factory
):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    program, payments, codes = _prepared_voucher_program(rpc, 120)
    key_a = _point_with_device(rpc, "Shop A", program)
    key_b = _point_with_device(rpc, "Shop B", program)
    by_payment = {}
    for code in codes:
        by_payment.setdefault(code["payment_id"][0], code["data"])
    vouchers = [by_payment[p["id"]] for p in payments]
    batch_a = [
        {
            "code": vouchers[i],
            "transaction_id": f"A-{i}",
            "redeemed_at": "2026-12-01 09:00:00",
        }
        for i in range(100)
    ]
    batch_b = [
        {
            "code": vouchers[i],
            "transaction_id": f"B-{i}",
            "redeemed_at": "2026-12-01 11:00:00",
        }
        for i in range(80, 120)
    ]
    # Shop A's sync is cut by a crash of the server (kill -9)...
    outcome = {}
    sender = threading.Thread(
        target=lambda: outcome.update(a=_safe_sync(server, key_a, batch_a))
    )
    sender.start()
    time.sleep(0.3)
    server.kill()
    sender.join(timeout=120)
    # ... and sent again, whole, once the server is back.
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    status, answer = _sync(server, key_a, batch_a)
    assert status == 200, answer
    assert (answer["accepted"], answer["disputed"], answer["refused"]) == (100, 0, 0)
    status, answer = _sync(server, key_b, batch_b)
    assert (answer["accepted"], answer["disputed"]) == (20, 20), answer
    disputed = [r for r in answer["results"] if r["result"] == "disputed"]
    assert {r["first_redemption"]["point"] for r in disputed} == {"Shop A"}
    # Sent again: nothing changes.
    status, again = _sync(server, key_b, batch_b)
    assert (again["accepted"], again["disputed"]) == (20, 20)
    assert all(r["replay"] for r in again["results"])
    ids = [p["id"] for p in payments]
    accepted = rpc.call(
        "g2p.voucher.redemption",
        "read_group",
        [("payment_id", "in", ids), ("state", "=", "accepted")],
        ["payment_id"],
        ["payment_id"],
    )
    assert len(accepted) == 120
    assert all(group["payment_id_count"] == 1 for group in accepted)
    assert (
        rpc.call("g2p.voucher.redemption", "search_count", [("state", "=", "disputed")])
        == 20
    )
    assert (
        rpc.call(
            "g2p.payment", "search_count", [("id", "in", ids), ("status", "=", "paid")]
        )
        == 120
    )


def _safe_sync(server, key, items):
    try:
        return _sync(server, key, items)
    except (ConnectionError, urllib.error.URLError) as exc:
        return exc
