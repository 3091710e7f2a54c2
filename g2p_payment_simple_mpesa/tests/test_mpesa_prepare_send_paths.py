from contextlib import nullcontext

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import MpesaCase, const

try:  # OpenG2P's base depends on queue_job; the stand-in has none.
    from odoo.addons.queue_job.tests.common import trap_jobs
except ImportError:
    trap_jobs = None


def queue_job_trap(env):
    """queue_job's ``trap_jobs`` where the base runs jobs (OpenG2P), else None."""
    return trap_jobs if trap_jobs and "queue.job" in env else None


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

    # -- 50 batches: OpenG2P sends them in a queue_job -------------------------
    def _fifty_batch_cycle(self, first):
        one_each = self.env["g2p.payment.batch.tag"].create(
            {"name": "One each", "order": 1, "domain": "[]", "max_batch_size": 1}
        )
        self.manager.batch_tag_ids = [Command.set(one_each.ids)]
        cycle = self.phone_cycle(50, first=first)
        cycle.prepare_payment()
        self.assertEqual(len(cycle.payment_batch_ids), 50)
        return cycle

    def test_fifty_batches_are_queued_by_send_and_each_paid_once(self):
        cycle = self._fifty_batch_cycle(first=700)
        batches = cycle.payment_batch_ids
        jobs_trap = queue_job_trap(self.env)
        if jobs_trap:
            # OpenG2P: one job for the cycle, locked until the job is done.
            with jobs_trap() as trap:
                action = cycle.send_payment()
                self.assertEqual(trap.jobs_count(only=self.manager._send_payments), 1)
                self.assertTrue(cycle.locked)
                self.assertFalse(any(batches.mapped("mpesa_due")))
                trap.perform_enqueued_jobs()
        else:
            # The stand-in sends synchronously, whatever the number of batches.
            action = cycle.send_payment()
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
        jobs_trap = queue_job_trap(self.env)
        with jobs_trap() if jobs_trap else nullcontext() as trap:
            with self.assertRaises(UserError) as caught:
                cycle.send_payment()
            if trap is not None:
                self.assertEqual(trap.jobs_count(), 0)
        self.assertIn("Mpesa manager", str(caught.exception))
        self.assertIn("password", str(caught.exception))
        self.assertFalse(cycle.locked)
        self.assertFalse(any(cycle.payment_batch_ids.mapped("mpesa_due")))

    # -- 200 entitlements: OpenG2P prepares them in a queue_job ----------------
    def test_large_cycle_prepared_in_a_job_is_auto_disbursed(self):
        self.manager.mpesa_auto_disburse = True
        cycle = self.phone_cycle(200, first=800)
        cron = self.env.ref("g2p_payment_simple_mpesa.ir_cron_mpesa_disburse")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", cron.id)])
        jobs_trap = queue_job_trap(self.env)
        if jobs_trap:
            with jobs_trap() as trap:
                cycle.prepare_payment()
                self.assertEqual(
                    trap.jobs_count(only=self.manager._prepare_payments), 1
                )
                self.assertTrue(cycle.locked)
                self.assertFalse(self.payments(cycle))
                trap.perform_enqueued_jobs()
        else:
            cycle.prepare_payment()
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
