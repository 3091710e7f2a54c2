from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ProgramCase


@tagged("post_install", "-at_install")
class TestDefaultPaymentManagerQueueJobs(ProgramCase):
    """Upstream's async rules: Prepare from 200 approved entitlements and Send
    from 50 batches run as queued jobs, the cycle locked until the job's
    on_done hook (``mark_job_as_done``) unlocks it."""

    ENTITLEMENT_COUNT = 250
    HIGH_COUNT = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Five payments a batch: the 250 entitlements make exactly 50 batches.
        cls.tag_five = cls.env["g2p.payment.batch.tag"].create(
            {"name": "Five each", "order": 1, "domain": "[]", "max_batch_size": 5}
        )
        cls.manager.batch_tag_ids = [Command.set(cls.tag_five.ids)]

    def _small_cycle(self, count=3):
        today = fields.Date.today()
        cycle = self.env["g2p.cycle"].create(
            {
                "name": "Small cycle",
                "program_id": self.program.id,
                "state": "approved",
                "start_date": today,
                "end_date": today,
            }
        )
        self.env["g2p.entitlement"].create(
            [
                {
                    "partner_id": partner.id,
                    "cycle_id": cycle.id,
                    "initial_amount": 100.0,
                    "state": "approved",
                }
                for partner in self.registrants[:count]
            ]
        )
        return cycle

    # ----------------------------------------------------------------- prepare
    def test_prepare_of_a_large_cycle_is_one_job_that_unlocks_the_cycle(self):
        manager = self.manager
        with trap_jobs() as trap:
            action = self.cycle.prepare_payment()

            trap.assert_jobs_count(2)
            trap.assert_enqueued_job(
                manager._prepare_payments, args=(self.cycle, self.entitlements)
            )
            trap.assert_jobs_count(1, only=manager.mark_job_as_done)
            self.assertEqual(action["params"]["type"], "success")
            self.assertTrue(action["params"]["sticky"])
            self.assertIn("250 entitlements", action["params"]["message"])
            self.assertTrue(self.cycle.locked)
            self.assertTrue(self.cycle.locked_reason)
            self.assertFalse(self.cycle_payments())
            self.assertTrue(
                any("250 entitlements" in body for body in self.cycle_messages())
            )

            trap.perform_enqueued_jobs()

        self.assertFalse(self.cycle.locked)
        self.assertFalse(self.cycle.locked_reason)
        self.assertEqual(len(self.cycle_payments()), 250)
        self.assertEqual(len(self.cycle.payment_batch_ids), 50)
        self.assertTrue(
            any("Payments prepared." in body for body in self.cycle_messages())
        )

    def test_prepare_counts_approved_entitlements_paid_or_not(self):
        # 199 approved: on the click.
        self.entitlements[:51].state = "draft"
        with trap_jobs() as trap:
            action = self.cycle.prepare_payment()
            trap.assert_jobs_count(0)
        self.assertFalse(action["params"]["sticky"])
        self.assertEqual(len(self.cycle_payments()), 199)
        self.assertFalse(self.cycle.locked)

        # One more approved makes 200, as upstream paid ones count too: a job,
        # which issues the one new payment.
        self.entitlements[0].state = "approved"
        self.prepare_through_job()

        self.assertEqual(len(self.cycle_payments()), 200)
        self.assertEqual(self.entitlements[0].payment_ids.state, "issued")
        self.assertFalse(self.cycle.locked)

    def test_failed_prepare_job_leaves_the_cycle_locked(self):
        # As upstream: on_done runs only after the job succeeded. The payment
        # addons unlock the cycle themselves when their job fails.
        def _prepare_payments(manager, cycle, entitlements):
            raise RuntimeError("boom")

        manager_class = type(self.manager)
        with (
            patch.object(manager_class, "_prepare_payments", _prepare_payments),
            trap_jobs() as trap,
        ):
            self.cycle.prepare_payment()
            with self.assertRaisesRegex(RuntimeError, "boom"):
                trap.perform_enqueued_jobs()

        self.assertTrue(self.cycle.locked)
        self.assertFalse(self.cycle_payments())

    # -------------------------------------------------------------------- send
    def test_send_of_fifty_batches_is_one_job_per_cycle(self):
        self.prepare_through_job()
        small = self._small_cycle()
        small.prepare_payment()
        large_batches = self.cycle.payment_batch_ids
        small_batches = small.payment_batch_ids
        self.assertEqual((len(large_batches), len(small_batches)), (50, 1))

        with trap_jobs() as trap:
            action = self.manager.send_payments(large_batches | small_batches)

            trap.assert_jobs_count(2, only=self.manager._send_payments)
            trap.assert_enqueued_job(self.manager._send_payments, args=(large_batches,))
            trap.assert_enqueued_job(self.manager._send_payments, args=(small_batches,))
            trap.assert_jobs_count(2, only=self.manager.mark_job_as_done)
            self.assertEqual(action["params"]["type"], "success")
            self.assertTrue(action["params"]["sticky"])
            self.assertIn("51 batches", action["params"]["message"])
            self.assertTrue(self.cycle.locked)
            self.assertTrue(small.locked)
            self.assertTrue(any("50 batches" in body for body in self.cycle_messages()))

            trap.perform_enqueued_jobs()

        self.assertFalse(self.cycle.locked)
        self.assertFalse(small.locked)
        self.assertTrue(
            any("Payments sent." in body for body in self.cycle_messages(small))
        )

    def test_send_below_fifty_batches_runs_on_the_click(self):
        self.prepare_through_job()
        batches = self.cycle.payment_batch_ids[:49]

        with trap_jobs() as trap:
            # The default manager has no payment channel: nothing to return.
            self.assertIsNone(self.manager.send_payments(batches))
            trap.assert_jobs_count(0)

        self.assertFalse(self.cycle.locked)

    def test_batches_are_grouped_by_cycle_in_order(self):
        self.prepare_through_job()
        small = self._small_cycle()
        small.prepare_payment()
        batches = small.payment_batch_ids | self.cycle.payment_batch_ids[:2]

        cycles, per_cycle = self.manager._group_batches_by_cycle(batches)

        self.assertEqual(cycles.ids, [small.id, self.cycle.id])
        self.assertEqual(per_cycle[0], small.payment_batch_ids)
        self.assertEqual(per_cycle[1], self.cycle.payment_batch_ids[:2])
