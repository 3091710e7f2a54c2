from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import FilePaymentCase

try:
    from odoo.addons.queue_job.tests.common import trap_jobs
except ImportError:  # the stand-in base has no queue_job
    trap_jobs = None

LIGHT_TEMPLATE = "<html><body><p>Voucher <t t-out='object.name'/></p></body></html>"


@tagged("post_install", "-at_install")
class TestPrepareLargeCycle(FilePaymentCase):
    """From 200 approved entitlements the real base prepares in a queue job
    (cycle locked meanwhile); the stand-in always prepares on the click. The
    vouchers come out the same, and a failure never leaves the cycle locked."""

    LARGE_COUNT = 205

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        partners = cls.env["res.partner"].create(
            [
                {"name": "Large beneficiary %03d" % i, "is_registrant": True}
                for i in range(cls.LARGE_COUNT)
            ]
        )
        cls.large_cycle = cls.create_cycle("Large cycle")
        cls.create_entitlements(cls.large_cycle, partners)
        cls.light_config = cls.env["g2p.payment.file.config"].create(
            {"name": "Light voucher", "type": "pdf", "body_string": LIGHT_TEMPLATE}
        )
        cls.manager.payment_file_config_ids = [Command.set(cls.light_config.ids)]

    def _queues_jobs(self):
        return "queue.job" in self.env and trap_jobs is not None

    def _files_count(self):
        return self.env["storage.file"].search_count([])

    def test_large_cycle_gets_one_voucher_per_payment_and_ends_unlocked(self):
        cycle = self.large_cycle
        if self._queues_jobs():
            with trap_jobs() as trap:
                cycle.prepare_payment()
                trap.assert_jobs_count(1, only=self.manager._prepare_payments)
                self.assertTrue(cycle.locked)
                self.assertFalse(self.payments(cycle))
                trap.perform_enqueued_jobs()
        else:
            cycle.prepare_payment()
        cycle.invalidate_recordset()
        self.assertFalse(cycle.locked)
        payments = self.payments(cycle)
        self.assertEqual(len(payments), self.LARGE_COUNT)
        for payment in payments:
            self.assertEqual(len(payment.payment_file_ids), 1)
        files = payments.payment_file_ids
        self.assertEqual(len(files), self.LARGE_COUNT)
        self.assertEqual(files.backend_id, self.store)

    def test_failed_large_prepare_unlocks_the_cycle_and_says_why(self):
        cycle = self.large_cycle
        self.light_config.body_string = '<p t-out="object.no_such_field"/>'
        files_before = self._files_count()
        if self._queues_jobs():
            # The unlock is committed through a cursor of its own (the job's
            # transaction is rolled back): test mode maps it onto this test's.
            self.registry.enter_test_mode(self.cr)
            self.addCleanup(self.registry.leave_test_mode)
            with trap_jobs() as trap:
                # The cheap checks pass on the click; rendering fails later.
                cycle.prepare_payment()
                self.assertTrue(cycle.locked)
                with self.assertRaisesRegex(UserError, "no_such_field"):
                    trap.perform_enqueued_jobs()
            cycle.invalidate_recordset()
            self.assertFalse(cycle.locked)
            self.assertFalse(cycle.locked_reason)
            bodies = (
                self.env["mail.message"]
                .search([("model", "=", "g2p.cycle"), ("res_id", "=", cycle.id)])
                .mapped("body")
            )
            failures = [body for body in bodies if "failed" in body]
            self.assertEqual(len(failures), 1, bodies)
            self.assertIn("File manager", failures[0])
            self.assertIn("no_such_field", failures[0])
            self.assertIn("Prepare Payments again", failures[0])
        else:
            with self.assertRaisesRegex(UserError, "no_such_field"):
                cycle.prepare_payment()
            self.assertFalse(cycle.locked)
        self.assertFalse(self.payments(cycle))
        self.assertEqual(self._files_count(), files_before)

    def test_missing_store_of_a_large_cycle_is_reported_on_the_click(self):
        self.program.supporting_documents_store = False
        with self.assertRaisesRegex(UserError, "File manager.*document store"):
            self.large_cycle.prepare_payment()
        self.assertFalse(self.large_cycle.locked)
        self.assertFalse(self.payments(self.large_cycle))
