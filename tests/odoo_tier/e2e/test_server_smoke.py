"""The e2e harness itself works: a server starts on a template copy, admin
logs in over JSON-RPC and the five addons are installed."""

import os

import pytest

FIVE_MODULES = (
    "g2p_registry_base",
    "g2p_programs",
    "g2p_program_documents",
    "g2p_payment_files",
    "g2p_payment_simple_mpesa",
)


def test_server_starts_and_admin_logs_in(odoo_db, odoo_server_factory, rpc_factory):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    assert rpc.uid == 2  # base.user_admin
    [admin] = rpc.call("res.users", "read", [rpc.uid], ["login"])
    assert admin["login"] == "admin"


def test_five_modules_installed(odoo_db, odoo_server_factory, rpc_factory):
    # run.py --modules installs a subset; it names it in G2P_E2E_MODULES.
    modules = tuple(
        os.environ.get("G2P_E2E_MODULES", "").split(",")
        if os.environ.get("G2P_E2E_MODULES")
        else FIVE_MODULES
    )
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    states = {
        m["name"]: m["state"]
        for m in rpc.call(
            "ir.module.module",
            "search_read",
            [("name", "in", list(modules))],
            fields=["name", "state"],
        )
    }
    assert states == dict.fromkeys(modules, "installed")


def test_rpc_fault_carries_server_message(
    odoo_db, odoo_server_factory, rpc_factory, odoo_rpc_error
):
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    with pytest.raises(odoo_rpc_error) as info:
        rpc.call("res.partner", "no_such_method_h4")
    assert "no_such_method_h4" in info.value.message


def test_killed_server_stops_answering(odoo_db, odoo_server_factory):
    server = odoo_server_factory(odoo_db)
    server.kill()
    assert server.process.returncode is not None
    assert server.process.returncode < 0  # died of the signal
