from odoo import Command, fields
from odoo.tests import TransactionCase

from odoo.addons.queue_job.tests.common import trap_jobs


class ProgramCase(TransactionCase):
    """A program, an approved cycle and N approved entitlements, built in bulk."""

    ENTITLEMENT_COUNT = 12
    HIGH_COUNT = 5  # entitlements with a high amount (matched by the first tag)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        count = cls.ENTITLEMENT_COUNT
        cls.registrants = cls.env["res.partner"].create(
            [
                {"name": "Registrant %05d" % i, "is_registrant": True}
                for i in range(count)
            ]
        )
        # Only even registrants have a bank account, to check the snapshot.
        cls.env["res.partner.bank"].create(
            [
                {"partner_id": partner.id, "acc_number": "ACC%05d" % i}
                for i, partner in enumerate(cls.registrants)
                if i % 2 == 0
            ]
        )
        cls.program = cls.env["g2p.program"].create({"name": "Test Program"})
        today = fields.Date.today()
        cls.cycle = cls.env["g2p.cycle"].create(
            {
                "name": "Cycle 1",
                "program_id": cls.program.id,
                "state": "approved",
                "start_date": today,
                "end_date": today,
            }
        )
        cls.entitlements = cls.env["g2p.entitlement"].create(
            [
                {
                    "partner_id": partner.id,
                    "cycle_id": cls.cycle.id,
                    "initial_amount": 200.0 if i < cls.HIGH_COUNT else 100.0,
                    "transfer_fee": 1.5,
                    "state": "approved",
                }
                for i, partner in enumerate(cls.registrants)
            ]
        )
        cls.tag_high, cls.tag_rest = cls.env["g2p.payment.batch.tag"].create(
            [
                {
                    "name": "High amounts",
                    "order": 1,
                    "domain": "[('initial_amount', '>=', 150)]",
                    "max_batch_size": 500,
                },
                {
                    "name": "Everything else",
                    "order": 2,
                    "domain": "[]",
                    "max_batch_size": 400,
                },
            ]
        )
        cls.manager = cls.env["g2p.program.payment.manager.default"].create(
            {
                "name": "Test manager",
                "program_id": cls.program.id,
                "create_batch": True,
                "batch_tag_ids": [Command.set((cls.tag_rest | cls.tag_high).ids)],
            }
        )
        # The program's one payment manager row now points at ours.
        cls.program.payment_managers.manager_ref_id = cls.manager

    def cycle_payments(self, cycle=None):
        cycle = cycle or self.cycle
        return self.env["g2p.payment"].search([("cycle_id", "=", cycle.id)])

    def cycle_messages(self, cycle=None):
        cycle = cycle or self.cycle
        return (
            self.env["mail.message"]
            .search([("model", "=", "g2p.cycle"), ("res_id", "=", cycle.id)])
            .mapped("body")
        )

    def prepare_through_job(self, cycle=None):
        """Click Prepare on a cycle the base prepares in a job, then run it."""
        cycle = cycle or self.cycle
        with trap_jobs() as trap:
            action = cycle.prepare_payment()
            trap.assert_jobs_count(1, only=self.manager._prepare_payments)
            trap.perform_enqueued_jobs()
        return action
