from unittest.mock import patch

from odoo import Command, fields
from odoo.tests.common import TransactionCase

from ..mpesa import const

try:
    from g2p_simulators.simple_mpesa import SimulatorServer
except ImportError as exc:  # a test double, not shipped with the addon
    raise ImportError(
        "the Mpesa tests need the gateway simulator: put tests/support of the "
        "repository on PYTHONPATH (tests/odoo_tier/run.py does)"
    ) from exc

AGENT = "agent@example.com"
AGENT_PASSWORD = "agent-secret"
AGENT_BALANCE = 1_000_000


class MpesaCase(TransactionCase):
    """A program paid by a simple-mpesa manager, against the simulator over HTTP.

    Commits are replaced by no-ops (the test transaction is rolled back); the
    e2e tests prove real commit behaviour across process kills.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = SimulatorServer(
            agents=[(AGENT, AGENT_PASSWORD, AGENT_BALANCE)], auto_register=True
        )
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        Manager = cls.env["g2p.program.payment.manager.simple.mpesa"]
        cls.startClassPatcher(
            patch.object(type(Manager), "_mpesa_commit", lambda self: None)
        )
        cls.program = cls.env["g2p.program"].create({"name": "Mpesa test program"})
        cls.tag = cls.env["g2p.payment.batch.tag"].create(
            {"name": "All", "order": 1, "domain": "[]", "max_batch_size": 500}
        )
        cls.manager = Manager.create(
            {
                "name": "Mpesa manager",
                "program_id": cls.program.id,
                "create_batch": True,
                "batch_tag_ids": [Command.set(cls.tag.ids)],
                "payee_id_type": "phone",
                "auth_endpoint_url": cls.sim.auth_url,
                "payment_endpoint_url": cls.sim.payment_url,
                "api_timeout": 1,
                "username": AGENT,
                "password": AGENT_PASSWORD,
            }
        )
        # Both bases give a new program its one payment manager: point it at ours.
        cls.program.payment_managers.manager_ref_id = cls.manager
        cls.cycle_seq = 0

    def setUp(self):
        super().setUp()
        self.sim.reset()

    # -- builders -------------------------------------------------------------
    def make_cycle(self, beneficiaries):
        """beneficiaries: list of (partner vals, amount); returns the cycle."""
        type(self).cycle_seq += 1
        cycle = self.make_empty_cycle("Cycle %s" % self.cycle_seq)
        partners = self.env["res.partner"].create(
            [dict({"is_registrant": True}, **vals) for vals, _amount in beneficiaries]
        )
        self.env["g2p.entitlement"].create(
            [
                {
                    "partner_id": partner.id,
                    "cycle_id": cycle.id,
                    "initial_amount": amount,
                    "state": "approved",
                }
                for partner, (_vals, amount) in zip(
                    partners, beneficiaries, strict=True
                )
            ]
        )
        return cycle

    def make_empty_cycle(self, name):
        today = fields.Date.today()
        return self.env["g2p.cycle"].create(
            {
                "name": name,
                "program_id": self.program.id,
                "start_date": today,
                "end_date": today,
            }
        )

    def phone_cycle(self, count, amount=100, first=1):
        return self.make_cycle(
            [
                ({"name": "Beneficiary %s" % i, "phone": "07%08d" % i}, amount)
                for i in range(first, first + count)
            ]
        )

    @staticmethod
    def msisdn(i):
        return "2547%08d" % i

    def prepare_and_send(self, cycle):
        cycle.prepare_payment()
        action = cycle.send_payment()
        return action

    def run_cron(self):
        self.env[
            "g2p.program.payment.manager.simple.mpesa"
        ]._cron_disburse_due_batches()
        self.env.invalidate_all()

    def payments(self, cycle):
        """The cycle's payments by beneficiary phone, then name (never by id:
        the bases create payments in different orders)."""
        payments = self.env["g2p.payment"].search([("cycle_id", "=", cycle.id)])
        return payments.sorted(
            lambda p: (p.partner_id.phone or "", p.partner_id.name or "", p.id)
        )

    def assert_nobody_paid_twice(self):
        counts = self.sim.deposit_counts()
        self.assertTrue(all(n <= 1 for n in counts.values()), counts)

    def states(self, cycle):
        return self.payments(cycle).mapped("mpesa_state")

    def chatter_bodies(self, record=None):
        record = record or self.manager
        return " ".join(record.message_ids.mapped("body"))


__all__ = ["MpesaCase", "AGENT", "AGENT_PASSWORD", "const"]
