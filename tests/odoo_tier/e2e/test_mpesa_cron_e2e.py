"""Mpesa disbursement end to end: real Odoo servers, real commits, the gateway
simulator in this process over HTTP.

(a) the scheduled job pays a cycle; (a') 50 batches, which OpenG2P sends in a
queue_job run by the job runner, are each paid once; (b) a server SIGKILLed in
the middle of a batch pays nobody twice after a restart and leaves the
in-flight deposit in doubt; (c) two servers disbursing the same database send
each payment once.
"""

import threading
import time

import pytest
from g2p_simulators.simple_mpesa import SimulatorServer

MANAGER_MODEL = "g2p.program.payment.manager.simple.mpesa"
AGENT = "agent@example.com"
AGENT_PASSWORD = "agent-secret"
AGENT_BALANCE = 1_000_000


@pytest.fixture
def sim():
    server = SimulatorServer(
        agents=[(AGENT, AGENT_PASSWORD, AGENT_BALANCE)], auto_register=True
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def msisdn(i):
    return "2547%08d" % i


def build_cycle(rpc, sim, count, amount=100, per_run=200, name="E2E", batch_size=500):
    """Program + Mpesa manager + approved cycle, prepared and sent; returns ids."""
    program = rpc.call("g2p.program", "create", {"name": f"{name} program"})
    tag = rpc.call(
        "g2p.payment.batch.tag",
        "create",
        {"name": "All", "order": 1, "domain": "[]", "max_batch_size": batch_size},
    )
    manager = rpc.call(
        MANAGER_MODEL,
        "create",
        {
            "name": f"{name} Mpesa",
            "program_id": program,
            "create_batch": True,
            "batch_tag_ids": [(6, 0, [tag])],
            "payee_id_type": "phone",
            "auth_endpoint_url": sim.auth_url,
            "payment_endpoint_url": sim.payment_url,
            "api_timeout": 5,
            "username": AGENT,
            "password": AGENT_PASSWORD,
            "mpesa_payments_per_run": per_run,
        },
    )
    rpc.link_payment_manager(program, MANAGER_MODEL, manager)
    cycle = rpc.create_cycle(program, f"{name} cycle")
    rpc.add_phone_beneficiaries(cycle, f"{name} beneficiary", count, amount)
    rpc.call("g2p.cycle", "prepare_payment", [cycle])
    action = rpc.call("g2p.cycle", "send_payment", [cycle])
    assert action["params"]["type"] == "success", action
    return {"program": program, "manager": manager, "cycle": cycle}


def cron_id(rpc):
    [row] = rpc.call(
        "ir.model.data",
        "search_read",
        [
            ("module", "=", "g2p_payment_simple_mpesa"),
            ("name", "=", "ir_cron_mpesa_disburse"),
        ],
        fields=["res_id"],
    )
    return row["res_id"]


def payments(rpc, cycle):
    return rpc.call(
        "g2p.payment",
        "search_read",
        [("cycle_id", "=", cycle)],
        fields=["name", "mpesa_state", "state", "status", "amount_paid", "partner_id"],
        order="id",
    )


def states(rpc, cycle):
    return [p["mpesa_state"] for p in payments(rpc, cycle)]


def assert_nobody_paid_twice(sim):
    counts = sim.deposit_counts()
    assert all(n == 1 for n in counts.values()), counts


def test_cron_disburses_a_cycle_end_to_end(
    odoo_db, odoo_server_factory, rpc_factory, sim
):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    ids = build_cycle(rpc, sim, 6, amount=120)
    assert sim.requests == 0  # the Send button only queues
    rpc.call("ir.cron", "method_direct_trigger", [cron_id(rpc)])
    rows = payments(rpc, ids["cycle"])
    assert [r["mpesa_state"] for r in rows] == ["paid"] * 6
    assert [r["status"] for r in rows] == ["paid"] * 6
    assert [r["amount_paid"] for r in rows] == [120.0] * 6
    assert sim.deposit_counts() == {msisdn(i): 1 for i in range(1, 7)}
    [batch] = rpc.call(
        "g2p.payment.batch",
        "search_read",
        [("cycle_id", "=", ids["cycle"])],
        fields=["batch_has_started", "batch_has_completed", "mpesa_dispatch_state"],
    )
    assert batch["batch_has_completed"] and batch["mpesa_dispatch_state"] == "done"
    # Running the job again sends nothing more.
    rpc.call("ir.cron", "method_direct_trigger", [cron_id(rpc)])
    assert sum(sim.deposit_counts().values()) == 6


def wait_for(what, predicate, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def test_fifty_batches_sent_through_the_job_runner_are_paid_once(
    odoo_db, odoo_server_factory, rpc_factory, sim
):
    count = 50
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    runs_jobs = rpc.call("ir.model", "search_count", [("model", "=", "queue.job")])
    ids = build_cycle(rpc, sim, count, name="Jobs", batch_size=1)

    def batches():
        return rpc.call(
            "g2p.payment.batch",
            "search_read",
            [("cycle_id", "=", ids["cycle"])],
            fields=["mpesa_due"],
        )

    def cycle_locked():
        [row] = rpc.call("g2p.cycle", "read", [ids["cycle"]], ["locked"])
        return row["locked"]

    assert len(batches()) == count
    if runs_jobs:
        # OpenG2P: 50+ batches are sent by a queue_job, run by the job runner,
        # the cycle locked until it is done.
        wait_for(
            "the send job",
            lambda: rpc.call(
                "queue.job",
                "search_count",
                [
                    ("model_name", "=", MANAGER_MODEL),
                    ("method_name", "=", "_send_payments"),
                    ("state", "=", "done"),
                ],
            ),
        )
        wait_for("the cycle to be unlocked", lambda: not cycle_locked())
    # (The stand-in sends synchronously: everything is due right away.)
    assert all(b["mpesa_due"] for b in batches())
    assert not cycle_locked()
    assert sim.requests == 0
    rpc.call("ir.cron", "method_direct_trigger", [cron_id(rpc)])
    assert states(rpc, ids["cycle"]) == ["paid"] * count
    assert sim.deposit_counts() == {msisdn(i): 1 for i in range(1, count + 1)}
    rpc.call("ir.cron", "method_direct_trigger", [cron_id(rpc)])
    assert sim.requests == count


def test_killed_mid_batch_never_pays_twice_and_leaves_the_in_flight_one_in_doubt(
    odoo_db, odoo_server_factory, rpc_factory, sim, e2e_env
):
    count = 8
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    ids = build_cycle(rpc, sim, count, name="Crash")
    cron = cron_id(rpc)
    sim.state.latency = 0.5

    def run_cron():
        try:
            rpc.call("ir.cron", "method_direct_trigger", [cron])
        except Exception:  # noqa: BLE001 - the server is killed under us
            pass

    worker = threading.Thread(target=run_cron, daemon=True)
    worker.start()
    deadline = time.monotonic() + 60
    # Kill while a deposit is in flight, after a few were answered.
    while time.monotonic() < deadline:
        applied = sum(sim.deposit_counts().values())
        if applied >= 3 and sim.requests > applied:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the batch never got going")
    server.kill()
    worker.join(timeout=10)
    time.sleep(1.0)  # let the simulator finish the orphaned request
    sim.state.latency = 0.0

    # What the dead worker left in the database, read without Odoo.
    conn = e2e_env.connect(odoo_db)
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT mpesa_state, count(*) FROM g2p_payment WHERE cycle_id = %s "
                "GROUP BY mpesa_state",
                (ids["cycle"],),
            )
            left = dict(cr.fetchall())
    finally:
        conn.close()
    assert left.get("sending") == 1, left  # committed before the request
    assert left.get("paid", 0) >= 3, left  # committed right after each answer

    server2 = odoo_server_factory(odoo_db)
    rpc2 = rpc_factory(server2, odoo_db)
    rpc2.call("ir.cron", "method_direct_trigger", [cron])
    rows = payments(rpc2, ids["cycle"])
    by_state = [r["mpesa_state"] for r in rows]
    assert by_state.count("in_doubt") == 1, by_state
    assert by_state.count("paid") == count - 1, by_state
    assert_nobody_paid_twice(sim)
    assert sum(sim.deposit_counts().values()) == count  # in flight one landed once
    assert sim.requests == count
    # Later runs never re-send the in-doubt payment.
    rpc2.call("ir.cron", "method_direct_trigger", [cron])
    assert sum(sim.deposit_counts().values()) == count

    # The agent balance delta proves the in-flight deposit was applied.
    [doubt] = [r for r in rows if r["mpesa_state"] == "in_doubt"]
    rpc2.call("g2p.payment", "action_mpesa_check_balance", [doubt["id"]])
    [after] = rpc2.call("g2p.payment", "read", [doubt["id"]], ["mpesa_state", "status"])
    assert after["mpesa_state"] == "paid" and after["status"] == "paid"


def test_two_servers_on_one_database_send_each_payment_once(
    odoo_db, odoo_server_factory, rpc_factory, sim, odoo_rpc_error
):
    count = 12
    server_a = odoo_server_factory(odoo_db)
    server_b = odoo_server_factory(odoo_db)
    rpc_a = rpc_factory(server_a, odoo_db)
    rpc_b = rpc_factory(server_b, odoo_db)
    ids = build_cycle(rpc_a, sim, count, per_run=3, name="Twin")
    cron = cron_id(rpc_a)
    sim.state.latency = 0.2
    errors = []
    conflicts = []

    def pending():
        return [s for s in states(rpc_a, ids["cycle"]) if s in ("queued", "sending")]

    def loop(call):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and pending():
            try:
                call()
            except odoo_rpc_error as exc:
                # The cron row is locked by the other server: expected.
                if "currently being executed" in exc.message:
                    conflicts.append(exc)
                else:
                    errors.append(exc)
            time.sleep(0.01)

    threads = [
        threading.Thread(
            target=loop,
            args=(lambda: rpc_a.call("ir.cron", "method_direct_trigger", [cron]),),
        ),
        threading.Thread(
            target=loop,
            args=(lambda: rpc_b.call("ir.cron", "method_direct_trigger", [cron]),),
        ),
        threading.Thread(
            target=loop,
            args=(
                lambda: rpc_b.call(
                    MANAGER_MODEL, "action_disburse_now", [ids["manager"]]
                ),
            ),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    # The workers really competed: the cron row or the agent lock was taken.
    busy = sum(
        s.log_text().count("busy in another worker") for s in (server_a, server_b)
    )
    assert conflicts or busy
    assert states(rpc_a, ids["cycle"]) == ["paid"] * count
    assert sim.deposit_counts() == {msisdn(i): 1 for i in range(1, count + 1)}
    assert sim.requests == count
