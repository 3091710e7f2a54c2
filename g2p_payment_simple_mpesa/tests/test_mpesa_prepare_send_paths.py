from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import MpesaCase, const


@tagged("post_install", "-at_install")
class TestMpesaPrepareSendPaths(MpesaCase):
    """Prepare and Send never leave anyone out, in the request or in a job."""

    # -- set-ups that would leave beneficiaries unpaid ------------------------
    def _force_create_batch(self):
        # Both bases only validate the tags when they are written: a manager
        # can still end up batching with tags that do not cover everyone.
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE g2p_program_payment_manager_simple_mpesa "
            "SET create_batch = true WHERE id = %s",
            (self.manager.id,),
        )
        self.manager.invalidate_recordset(["create_batch"])

    def _assert_prepare_refused(self, cycle, *words):
        with self.assertRaises(UserError) as caught:
            cycle.prepare_payment()
        message = str(caught.exception)
        self.assertIn("Mpesa manager", message)
        for word in words:
            self.assertIn(word, message)
        self.assertFalse(
            self.env["g2p.payment"].search_count([("cycle_id", "=", cycle.id)])
        )

    def test_prepare_refuses_a_manager_that_does_not_create_batches(self):
        self.manager.create_batch = False
        cycle = self.phone_cycle(2, first=601)
        self._assert_prepare_refused(cycle, "Automatically Create Batch")

    def test_prepare_refuses_a_manager_without_batch_tags(self):
        self.manager.write({"create_batch": False, "batch_tag_ids": [Command.clear()]})
        self._force_create_batch()
        cycle = self.phone_cycle(2, first=611)
        self._assert_prepare_refused(cycle, "no batch tags", "[]")

    def test_prepare_refuses_a_last_tag_that_does_not_match_everyone(self):
        narrow = self.env["g2p.payment.batch.tag"].create(
            {
                "name": "Large only",
                "order": 1,
                "domain": "[('initial_amount', '>', 1000)]",
                "max_batch_size": 500,
            }
        )
        self.manager.write(
            {"create_batch": False, "batch_tag_ids": [Command.set(narrow.ids)]}
        )
        self._force_create_batch()
        cycle = self.phone_cycle(2, first=621)
        self._assert_prepare_refused(cycle, "Large only", "last batch tag")

    # -- 50 batches: both bases send them in a queue_job ----------------------
    def _fifty_batch_cycle(self, first, count=50):
        one_each = self.env["g2p.payment.batch.tag"].create(
            {"name": "One each", "order": 1, "domain": "[]", "max_batch_size": 1}
        )
        self.manager.batch_tag_ids = [Command.set(one_each.ids)]
        cycle = self.phone_cycle(count, first=first)
        cycle.prepare_payment()
        self.assertEqual(len(cycle.payment_batch_ids), count)
        return cycle

    def test_forty_nine_batches_are_queued_on_the_click(self):
        cycle = self._fifty_batch_cycle(first=650, count=49)
        with trap_jobs() as trap:
            action = cycle.send_payment()
            trap.assert_jobs_count(0)
        self.assertIn("49 batches", action["params"]["message"])
        self.assertFalse(cycle.locked)
        self.assertTrue(all(cycle.payment_batch_ids.mapped("mpesa_due")))
        self.assertEqual(set(self.states(cycle)), {const.QUEUED})

    def test_fifty_batches_are_queued_by_send_and_each_paid_once(self):
        cycle = self._fifty_batch_cycle(first=700)
        batches = cycle.payment_batch_ids
        # One job for the cycle, locked until the job is done.
        with trap_jobs() as trap:
            action = cycle.send_payment()
            trap.assert_jobs_count(1, only=self.manager._send_payments)
            self.assertTrue(cycle.locked)
            self.assertFalse(any(batches.mapped("mpesa_due")))
            trap.perform_enqueued_jobs()
        self.assertEqual(action["params"]["type"], "success")
        self.assertFalse(cycle.locked)
        self.assertTrue(all(batches.mapped("mpesa_due")))
        self.assertEqual(batches.mpesa_manager_id, self.manager)
        self.assertEqual(set(self.states(cycle)), {const.QUEUED})
        self.assertEqual(self.sim.requests, 0)

        self.run_cron()

        self.assertEqual(self.states(cycle), [const.PAID] * 50)
        self.assertEqual(
            self.sim.deposit_counts(), {self.msisdn(i): 1 for i in range(700, 750)}
        )

    def test_send_config_error_is_raised_on_the_click_and_leaves_no_lock(self):
        cycle = self._fifty_batch_cycle(first=760)
        self.manager.password = False
        with trap_jobs() as trap:
            with self.assertRaises(UserError) as caught:
                cycle.send_payment()
            trap.assert_jobs_count(0)
        self.assertIn("Mpesa manager", str(caught.exception))
        self.assertIn("password", str(caught.exception))
        self.assertFalse(cycle.locked)
        self.assertFalse(any(cycle.payment_batch_ids.mapped("mpesa_due")))

    # -- 200 entitlements: both bases prepare them in a queue_job -------------
    def test_large_cycle_prepared_in_a_job_is_auto_disbursed(self):
        self.manager.mpesa_auto_disburse = True
        cycle = self.phone_cycle(200, first=800)
        cron = self.env.ref("g2p_payment_simple_mpesa.ir_cron_mpesa_disburse")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", cron.id)])
        with trap_jobs() as trap:
            cycle.prepare_payment()
            trap.assert_jobs_count(1, only=self.manager._prepare_payments)
            self.assertTrue(cycle.locked)
            self.assertFalse(self.payments(cycle))
            trap.perform_enqueued_jobs()
        self.assertFalse(cycle.locked)
        payments = self.payments(cycle)
        self.assertEqual(len(payments), 200)
        self.assertEqual(set(payments.mapped("mpesa_state")), {const.QUEUED})
        batches = cycle.payment_batch_ids
        self.assertTrue(batches)
        self.assertTrue(all(batches.mapped("mpesa_due")))
        self.assertEqual(batches.mpesa_manager_id, self.manager)
        self.assertEqual(payments.batch_id, batches)
        self.assertTrue(Trigger.search([("cron_id", "=", cron.id)]) - before)
