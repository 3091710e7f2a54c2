"""A Program Manager over RPC, against a real Odoo server: cannot redirect the
gateway credentials nor change what is paid; the scheduled job then sends
nothing to the address they tried, and pays the approved amount once.
"""

import pytest
from g2p_simulators.simple_mpesa import SimulatorServer
from test_mpesa_cron_e2e import build_cycle, cron_id, msisdn, payments

MANAGER_MODEL = "g2p.program.payment.manager.simple.mpesa"


@pytest.fixture
def sim():
    server = SimulatorServer(
        agents=[("agent@example.com", "agent-secret", 1_000_000)], auto_register=True
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def listener():
    """A local HTTP server standing for an address the user controls."""
    server = SimulatorServer(agents=[])
    server.start()
    try:
        yield server
    finally:
        server.stop()


def program_manager(rpc, login):
    """An internal user in the OpenG2P group Program Manager only."""
    groups = rpc.call(
        "ir.model.data",
        "search_read",
        [
            "|",
            "&",
            ("module", "=", "g2p_programs"),
            ("name", "=", "g2p_program_manager"),
            "&",
            ("module", "=", "base"),
            ("name", "=", "group_user"),
        ],
        fields=["res_id"],
    )
    rpc.call(
        "res.users",
        "create",
        {
            "name": "Program Manager",
            "login": login,
            "password": login,
            "groups_id": [(6, 0, [g["res_id"] for g in groups])],
        },
    )


def test_program_manager_can_neither_redirect_secrets_nor_change_amounts(
    odoo_db, odoo_server_factory, rpc_factory, sim, listener, odoo_rpc_error
):
    server = odoo_server_factory(odoo_db)
    admin = rpc_factory(server, odoo_db)
    ids = build_cycle(admin, sim, 3, amount=1500, name="Limits")
    program_manager(admin, "pm-limits")
    pm = rpc_factory(server, odoo_db, login="pm-limits", password="pm-limits")

    with pytest.raises(odoo_rpc_error) as refused:
        pm.call(
            MANAGER_MODEL,
            "write",
            [ids["manager"]],
            {"auth_endpoint_url": listener.auth_url},
        )
    assert "settings administrator" in refused.value.message
    [payment] = payments(pm, ids["cycle"])[:1]
    with pytest.raises(odoo_rpc_error) as refused:
        pm.call("g2p.payment", "write", [payment["id"]], {"amount_issued": 15000})
    assert payment["name"] in refused.value.message

    admin.call("ir.cron", "method_direct_trigger", [cron_id(admin)])
    assert listener.requests == 0
    rows = payments(admin, ids["cycle"])
    assert [r["mpesa_state"] for r in rows] == ["paid"] * 3
    assert [r["amount_paid"] for r in rows] == [1500.0] * 3
    assert sim.deposit_counts() == {msisdn(i): 1 for i in range(1, 4)}
    assert all(sim.balance_of(msisdn(i)) == 1500 for i in range(1, 4))
    log = server.log_text()
    assert "Refused write of auth_endpoint_url" in log
    assert "pm-limits" in log
