"""The Daraja B2C measurements of ``bench_mpesa_scale_child.py``.

``daraja_setup``: a second program, paid by a manager of gateway type
*daraja-b2c*, with one cycle of N approved entitlements for the registrants
``setup`` made.  ``daraja_disburse``: the cron entry point called pass after
pass in one long-lived process (``drive_cron``) against the Daraja simulator
in a process of its own (``g2p_bench.daraja_process``); between two passes
the Result callbacks the simulator decided are applied in this process,
each in a transaction of its own, through the model method the FastAPI
router calls (``_daraja_receive_callback``, as the callbacks endpoint's user,
with the secret and kind read from the URL it was told to post to).
"""

import base64
from urllib.parse import urlsplit

from g2p_bench.daraja_process import DarajaProcess
from g2p_bench.mpesa_program import create_mpesa_program
from g2p_simulators.daraja import DarajaSimulator
from mpesa_scale_common import MANAGER
from mpesa_scale_disburse import drive_cron
from mpesa_scale_prepare import DROP_SETUP_INDEX_SQL, SETUP_INDEX_SQL, approved_cycle

GATEWAY = "daraja-b2c"
CALLBACK_ENDPOINT_XMLID = "g2p_payment_simple_mpesa.fastapi_endpoint_mpesa_callbacks"
# Nothing listens there: set-up placeholders, and the callback base (outbox
# delivery posts nothing; the URL only carries the secret and the kind).
NOWHERE = "http://127.0.0.1:9"


def _phone(i):
    return "07%08d" % i


def daraja_setup(odoo, conf):
    """Program, Daraja manager and one cycle of N entitlements (setup's registrants)."""
    n, first = conf["n"], conf["first"]
    # Any valid certificate will do here: daraja_disburse writes its simulator's.
    certificate = base64.b64encode(DarajaSimulator().certificate_pem).decode()
    with odoo.cursor() as cr:
        env = odoo.env(cr, tracking_disable=True, mail_create_nolog=True)
        program, manager = create_mpesa_program(
            env,
            f"Daraja scale benchmark {first}",
            "All",
            conf["batch_size"],
            name=f"Daraja scale manager {first}",
            gateway_type=GATEWAY,
            auth_endpoint_url=NOWHERE + "/oauth/v1/generate",
            payment_endpoint_url=NOWHERE + "/mpesa/b2c/v3/paymentrequest",
            daraja_consumer_key="placeholder",
            daraja_consumer_secret="placeholder",
            daraja_shortcode="600000",
            daraja_initiator_name="placeholder",
            daraja_initiator_password="placeholder",
            daraja_certificate=certificate,
            daraja_callback_base_url=NOWHERE,
        )
        if conf.get("chunk_size"):
            manager.mpesa_prepare_chunk_size = conf["chunk_size"]
        cr.execute(
            "SELECT id FROM res_partner WHERE is_registrant "
            "AND phone BETWEEN %s AND %s ORDER BY id",
            (_phone(first), _phone(first + n - 1)),
        )
        partner_ids = [row[0] for row in cr.fetchall()]
        if len(partner_ids) != n:
            raise SystemExit(
                f"daraja_setup: {len(partner_ids)} registrants with phones from "
                f"{_phone(first)}, expected {n} (run the setup kind first)"
            )
        cr.execute(SETUP_INDEX_SQL)  # see setup: only while entitlements are made
        manager_id, program_id = manager.id, program.id
    cycle_id = approved_cycle(
        odoo, program_id, f"Daraja scale cycle {first}", partner_ids
    )
    with odoo.cursor() as cr:
        cr.execute(DROP_SETUP_INDEX_SQL)
    return {"manager_id": manager_id, "cycle_id": cycle_id}


def _point_at(odoo, conf, sim):
    config = sim.config
    with odoo.cursor() as cr:
        manager = odoo.env(cr)[MANAGER].browse(conf["manager_id"])
        manager.write(
            {
                "auth_endpoint_url": config["token_url"],
                "payment_endpoint_url": config["payment_url"],
                "daraja_status_url": config["status_url"],
                "daraja_consumer_key": config["consumer_key"],
                "daraja_consumer_secret": config["consumer_secret"],
                "daraja_shortcode": config["shortcode"],
                "daraja_initiator_name": config["initiator_name"],
                "daraja_initiator_password": config["initiator_password"],
                "daraja_certificate": base64.b64encode(
                    config["certificate_pem"].encode()
                ).decode(),
                "daraja_concurrency": conf["concurrency"],
                "mpesa_payments_per_run": conf["per_run"],
            }
        )


class ResultCallbacks:
    """The simulator's outbox applied as the callbacks endpoint applies a POST:
    one transaction per callback, as its user, the manager on sudo."""

    def __init__(self, odoo, sim):
        from odoo.addons.g2p_payment_simple_mpesa.mpesa.daraja_results import (  # noqa: PLC0415
            CallbackRefused,
            ResultError,
        )

        self.odoo, self.sim = odoo, sim
        self.refusals = (CallbackRefused, ResultError)
        with odoo.cursor() as cr:
            endpoint = odoo.env(cr).ref(CALLBACK_ENDPOINT_XMLID)
            self.uid = endpoint.user_id.id
        self.applied = self.repeated = self.refused = 0
        self.problems = []

    def apply_outbox(self):
        for url, body in self.sim.take_callbacks():
            # <base><root>/daraja/<secret>/<kind>: what the router reads.
            secret, kind = urlsplit(url).path.rstrip("/").split("/")[-2:]
            with self.odoo.cursor() as cr:
                manager = self.odoo.env(cr, uid=self.uid)[MANAGER]
                try:
                    ack = manager.sudo()._daraja_receive_callback(secret, kind, body)
                except self.refusals as exc:
                    cr.rollback()
                    self.refused += 1
                    if len(self.problems) < 5:
                        self.problems.append(str(exc))
                    continue
            if ack.get("ResultDesc") == "Accepted":
                self.applied += 1
            else:
                self.repeated += 1


def _accounts(odoo, cycle_id):
    with odoo.cursor() as cr:
        cr.execute(
            "SELECT mpesa_account_no, daraja_receipt IS NOT NULL FROM g2p_payment "
            "WHERE cycle_id = %s",
            (cycle_id,),
        )
        return cr.fetchall()


def daraja_disburse(odoo, conf):
    """Bounded cron passes in one long-lived worker; results applied between."""
    sim = DarajaProcess(conf["sim_port"], conf["control_port"], conf["latency_ms"])
    try:
        _point_at(odoo, conf, sim)
        results = ResultCallbacks(odoo, sim)
        run = drive_cron(odoo, conf, after_pass=results.apply_outbox)
        ledger, stats = sim.ledger(), sim.stats()
    finally:
        sim_rss = sim.stop()
    rows = _accounts(odoo, conf["cycle_id"])
    accounts = {account for account, _receipt in rows}
    return dict(
        run,
        gateway=GATEWAY,
        sim_rss_mib=sim_rss,
        sim_deposits=sum(ledger.values()),
        sim_stats=stats,
        accounts_paid_once=sum(1 for account, _r in rows if ledger.get(account) == 1),
        accounts_paid_twice=sum(1 for c in ledger.values() if c > 1),
        accounts_not_ours=len(set(ledger) - accounts),
        receipts=sum(1 for _account, receipt in rows if receipt),
        callbacks_applied=results.applied,
        callbacks_repeated=results.repeated,
        callbacks_refused=results.refused,
        callback_problems=results.problems,
    )
