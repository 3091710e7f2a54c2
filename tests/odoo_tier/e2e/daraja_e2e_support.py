"""Shared plumbing of the Daraja end-to-end tests (not a test module).

A program with a Daraja B2C manager pointed at the simulator, its cycle
prepared and sent over JSON-RPC; cron triggers; waits; and the checks made on
what the simulator recorded (its ledger and request log), which are what
"paid exactly once" means at the gateway.
"""

import base64
import itertools
import os
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import pytest
from g2p_simulators.daraja import (
    ANSWER_ACCEPTED,
    ANSWER_DUPLICATE,
    ANSWERS_NOT_PROCESSED,
)

MANAGER_MODEL = "g2p.program.payment.manager.simple.mpesa"
DISBURSE_CRON = "ir_cron_mpesa_disburse"
STATUS_CRON = "ir_cron_daraja_status"
PAST = "2000-01-01 00:00:00"
OPEN_STATES = ("queued", "sending", "accepted")
# Answers a second request for an already accepted OCID may get.
HARMLESS_ANSWERS = (ANSWER_DUPLICATE, *ANSWERS_NOT_PROCESSED)


def msisdn(i):
    return "2547%08d" % i


def manager_vals(sim, server, name, program, tag, **extra):
    return {
        "name": f"{name} Daraja",
        "program_id": program,
        "create_batch": True,
        "batch_tag_ids": [(6, 0, [tag])],
        "payee_id_type": "phone",
        "gateway_type": "daraja-b2c",
        "auth_endpoint_url": sim.token_url,
        "payment_endpoint_url": sim.payment_url,
        "daraja_consumer_key": sim.consumer_key,
        "daraja_consumer_secret": sim.consumer_secret,
        "daraja_shortcode": sim.shortcode,
        "daraja_initiator_name": sim.initiator_name,
        "daraja_initiator_password": sim.initiator_password,
        "daraja_certificate": base64.b64encode(sim.certificate_pem).decode(),
        "daraja_callback_base_url": server.url,
        "api_timeout": 5,
        **extra,
    }


def build_cycle(
    rpc, server, sim, count, name, amount=100, batch_size=500, **manager_extra
):
    """Program + Daraja manager + approved cycle of ``count``, prepared and sent.

    ``manager_extra``: more manager fields (daraja_concurrency,
    mpesa_payments_per_run, api_timeout, ...).
    """
    program = rpc.call("g2p.program", "create", {"name": f"{name} program"})
    tag = rpc.call(
        "g2p.payment.batch.tag",
        "create",
        {"name": "All", "order": 1, "domain": "[]", "max_batch_size": batch_size},
    )
    manager = rpc.call(
        MANAGER_MODEL,
        "create",
        manager_vals(sim, server, name, program, tag, **manager_extra),
    )
    rpc.link_payment_manager(program, MANAGER_MODEL, manager)
    cycle = rpc.create_cycle(program, f"{name} cycle")
    rpc.add_phone_beneficiaries(cycle, name, count, amount)
    rpc.call("g2p.cycle", "prepare_payment", [cycle])
    # From 200 entitlements both bases prepare in queued jobs (cycle locked).
    wait_for(
        "the payments to be prepared",
        lambda: (
            not cycle_locked(rpc, cycle)
            and rpc.call("g2p.payment", "search_count", [("cycle_id", "=", cycle)])
            == count
        ),
        timeout=120,
    )
    rpc.call("g2p.cycle", "send_payment", [cycle])
    return {"manager": manager, "cycle": cycle}


def cycle_locked(rpc, cycle):
    [row] = rpc.call("g2p.cycle", "read", [cycle], ["locked"])
    return row["locked"]


def cron_id(rpc, name):
    [row] = rpc.call(
        "ir.model.data",
        "search_read",
        [("module", "=", "g2p_payment_simple_mpesa"), ("name", "=", name)],
        fields=["res_id"],
    )
    return row["res_id"]


def trigger(rpc, name):
    rpc.call("ir.cron", "method_direct_trigger", [cron_id(rpc, name)])


PAYMENT_FIELDS = [
    "name",
    "mpesa_state",
    "status",
    "daraja_ocid",
    "daraja_receipt",
    "mpesa_account_no",
    "mpesa_failure_reason",
    "mpesa_attempt_count",
    "write_date",
]


def payments(rpc, cycle, domain=()):
    return rpc.call(
        "g2p.payment",
        "search_read",
        [("cycle_id", "=", cycle), *domain],
        fields=PAYMENT_FIELDS,
        order="id",
    )


def count_in(rpc, cycle, states):
    return rpc.call(
        "g2p.payment",
        "search_count",
        [("cycle_id", "=", cycle), ("mpesa_state", "in", list(states))],
    )


def by_account(rows):
    return {r["mpesa_account_no"]: r for r in rows}


def wait_for(what, predicate, timeout=90, every=0.25, describe=None):
    """``predicate()``'s first true value; fails naming ``describe()`` if none."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    detail = f": {describe()}" if describe else ""
    pytest.fail(f"timed out waiting for {what}{detail}")


def states_of(rpc, cycle):
    """Payments per Mpesa state, with the reasons of those not paid."""
    rows = payments(rpc, cycle)
    return {
        "states": dict(Counter(r["mpesa_state"] for r in rows)),
        "not paid": [
            (r["mpesa_account_no"], r["mpesa_state"], r["mpesa_failure_reason"])
            for r in rows
            if r["mpesa_state"] != "paid"
        ][:10],
    }


def all_paid(rpc, cycle):
    rows = payments(rpc, cycle)
    return rows if {r["mpesa_state"] for r in rows} == {"paid"} else None


def wait_all_paid(rpc, cycle, timeout=60):
    return wait_for(
        "every payment paid",
        lambda: all_paid(rpc, cycle),
        timeout=timeout,
        describe=lambda: states_of(rpc, cycle),
    )


def retry_queued_now(rpc, cycle):
    """As if every queued payment's back-off had elapsed."""
    ids = rpc.call(
        "g2p.payment",
        "search",
        [("cycle_id", "=", cycle), ("mpesa_state", "=", "queued")],
    )
    if ids:
        rpc.call("g2p.payment", "write", ids, {"mpesa_next_attempt_at": PAST})
    return ids


def query_overdue_now(rpc, cycle):
    """As if every awaited result were overdue; then run the status cron."""
    ids = rpc.call(
        "g2p.payment",
        "search",
        [
            ("cycle_id", "=", cycle),
            ("mpesa_state", "in", ["accepted", "in_doubt"]),
            ("daraja_deadline", "!=", False),
        ],
    )
    if ids:
        rpc.call("g2p.payment", "write", ids, {"daraja_deadline": PAST})
    trigger(rpc, STATUS_CRON)
    return ids


# --------------------------------------------------------------------------
# What the simulator recorded
# --------------------------------------------------------------------------


def requests_by_ocid(sim):
    out = defaultdict(list)
    for row in sim.requests_of():
        out[row["ocid"]].append(row)
    return out


def assert_each_payee_paid_once(sim, accounts):
    ledger = sim.ledger()
    assert ledger == dict.fromkeys(accounts, 1), {
        k: v for k, v in ledger.items() if v != 1 or k not in accounts
    }


def assert_one_ocid_per_payee_applied_once(sim, rows):
    """Each payment went out under its own OCID only, which Daraja applied once.

    Every other request for that OCID was answered "duplicate" or refused
    before Daraja looked at it (token, rate limit, dropped unprocessed).
    """
    by_ocid = requests_by_ocid(sim)
    ocid_of = {r["mpesa_account_no"]: r["daraja_ocid"] for r in rows}
    assert set(by_ocid) == set(ocid_of.values())
    for ocid, reqs in by_ocid.items():
        assert {r["msisdn"] for r in reqs} == {
            a for a, o in ocid_of.items() if o == ocid
        }
        applied = [r for r in reqs if r["answer"] == ANSWER_ACCEPTED]
        assert len(applied) == 1, (ocid, reqs)
        others = [r for r in reqs if r is not applied[0]]
        assert all(r["answer"] in HARMLESS_ANSWERS for r in others), (ocid, reqs)
    sent_under = defaultdict(set)
    for row in sim.requests_of():
        sent_under[row["msisdn"]].add(row["ocid"])
    assert all(len(ocids) == 1 for ocids in sent_under.values()), sent_under


# --------------------------------------------------------------------------
# Two servers
# --------------------------------------------------------------------------


class ServerTagger:
    """Which Odoo server opened a connection to the simulator (a peer_tagger).

    Resolved while the client waits on its request: the client socket's inode
    (``/proc/net/tcp``: local port = the peer's, remote port = the
    simulator's) is looked up among each server process's descriptors.
    """

    def __init__(self):
        self.pids = {}  # pid -> name
        self.sim_port = None

    def add(self, name, server):
        self.pids[server.process.pid] = name

    def __call__(self, client_address):
        inode = self._client_inode(client_address[1])
        if inode is None:
            return None
        target = f"socket:[{inode}]"
        for pid, name in self.pids.items():
            for fd_dir in self._fd_dirs(pid):
                try:
                    fds = os.listdir(fd_dir)
                except OSError:
                    continue
                for fd in fds:
                    try:
                        if os.readlink(os.path.join(fd_dir, fd)) == target:
                            return name
                    except OSError:
                        continue
        return None

    def _client_inode(self, port):
        try:
            with open("/proc/net/tcp", encoding="ascii") as table:
                lines = table.readlines()[1:]
        except OSError:
            return None
        for line in lines:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == port
                and int(remote.rsplit(":", 1)[1], 16) == self.sim_port
            ):
                return fields[9]
        return None

    @staticmethod
    def _fd_dirs(pid):
        # The server and any process it started (a wrapper's child).
        yield f"/proc/{pid}/fd"
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                    children = f.read().split()
            except OSError:
                continue
            for child in children:
                yield f"/proc/{child}/fd"


class Balancer:
    """A callback_router: result callbacks go to each server in turn."""

    def __init__(self, *servers):
        self.bases = [server.url for server in servers]
        self._turn = itertools.count()

    def __call__(self, url):
        parts = urlsplit(url)
        base = self.bases[next(self._turn) % len(self.bases)]
        return base + parts.path
