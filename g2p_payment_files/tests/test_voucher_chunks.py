from datetime import timedelta

import psycopg2.errors
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import FilePaymentCase

LIGHT_TEMPLATE = "<html><body><p>Voucher <t t-out='object.name'/></p></body></html>"
BATCH_LIST_TEMPLATE = (
    "<html><body><p t-foreach='object.payment_ids' t-as='p' t-out='p.name'/>"
    "</body></html>"
)


@tagged("post_install", "-at_install")
class TestVoucherChunks(FilePaymentCase):
    """From 200 approved entitlements a cycle is prepared by chunk jobs of
    ``voucher_chunk_size`` entitlements, then a last job unlocks the cycle."""

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
        cls.manager.write(
            {
                "payment_file_config_ids": [Command.set(cls.light_config.ids)],
                "voucher_chunk_size": 50,
            }
        )
        cls.Chunk = cls.env["g2p.payment.file.chunk"]

    def _prepare_trapped(self, cycle=None):
        cycle = cycle or self.large_cycle
        with trap_jobs() as trap:
            cycle.prepare_payment()
        return trap

    def _chunks(self, cycle=None):
        cycle = cycle or self.large_cycle
        return self.Chunk.search([("run_ref", "=", cycle.voucher_run_ref)])

    def _cycle_messages(self, cycle):
        return (
            self.env["mail.message"]
            .search([("model", "=", "g2p.cycle"), ("res_id", "=", cycle.id)])
            .mapped("body")
        )

    def test_large_cycle_is_prepared_by_chunk_jobs_then_unlocked(self):
        cycle = self.large_cycle
        with trap_jobs() as trap:
            cycle.prepare_payment()
            methods = sorted(job.method_name for job in trap.enqueued_jobs)
            self.assertEqual(methods, ["_finish_voucher_run"] + ["_run"] * 5)
            self.assertTrue(cycle.locked)
            self.assertFalse(self.payments(cycle))
            self.assertEqual(cycle.voucher_jobs_total, 5)
            self.assertEqual(cycle.voucher_entitlements_total, self.LARGE_COUNT)
            self.assertEqual(cycle.voucher_progress, 0.0)
            self.assertEqual(
                sorted(self._chunks().mapped("entitlement_count")), [5, 50, 50, 50, 50]
            )
            trap.perform_enqueued_jobs()
        cycle.invalidate_recordset()
        self.assertFalse(cycle.locked)
        payments = self.payments(cycle)
        self.assertEqual(len(payments), self.LARGE_COUNT)
        self.assertEqual(
            {len(p.payment_file_ids) for p in payments}, {1}, "one voucher each"
        )
        self.assertEqual(payments.payment_file_ids.backend_id, self.store)
        self.assertEqual(cycle.voucher_jobs_done, 5)
        self.assertEqual(cycle.voucher_progress, 100.0)
        self.assertEqual(set(self._chunks().mapped("state")), {"done"})
        summary = [b for b in self._cycle_messages(cycle) if "Prepared" in b]
        self.assertEqual(len(summary), 1)
        self.assertIn("205 payments and 205 voucher files in 5 jobs", summary[0])

    def test_a_chunk_run_again_pays_and_files_nobody_twice(self):
        trap = self._prepare_trapped()
        trap.perform_enqueued_jobs()
        files_before = self.env["storage.file"].search_count([])
        chunk = self._chunks()[0]
        self.assertIn("nothing left to do", chunk._run())
        # Even forced back to pending, its entitlements have payments already.
        chunk.write({"state": "pending"})
        chunk._run()
        self.assertEqual(chunk.payment_count, 0)
        self.assertEqual(len(self.payments(self.large_cycle)), self.LARGE_COUNT)
        self.assertEqual(self.env["storage.file"].search_count([]), files_before)

    def test_prepare_is_refused_while_chunk_jobs_are_open(self):
        self._prepare_trapped()
        with self.assertRaisesRegex(UserError, "still preparing payments"):
            self.large_cycle.prepare_payment()

    def test_batches_stay_whole_and_per_batch_files_come_once_per_batch(self):
        batch_config = self.env["g2p.payment.file.config"].create(
            {"name": "Batch list", "type": "pdf", "body_string": BATCH_LIST_TEMPLATE}
        )
        self.manager.write({"create_batch": True})
        self.manager.batch_tag_ids.write(
            {
                "max_batch_size": 30,
                "render_files_per_payment": False,
                "file_config_ids": [Command.set(batch_config.ids)],
            }
        )
        trap = self._prepare_trapped()
        # 30 + 30 > 50: one batch per chunk.
        self.assertEqual(len(self._chunks()), 7)
        trap.perform_enqueued_jobs()
        batches = self.large_cycle.payment_batch_ids
        self.assertEqual(
            sorted(len(b.payment_ids) for b in batches), [25, 30, 30, 30, 30, 30, 30]
        )
        self.assertEqual({len(b.payment_file_ids) for b in batches}, {1})
        self.assertFalse(self.payments(self.large_cycle).payment_file_ids)

    def test_failed_chunk_keeps_nothing_says_why_and_retry_completes(self):
        # The failure is written through a cursor of its own (the job's
        # transaction is rolled back): test mode maps it onto this test's.
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)
        cycle = self.large_cycle
        self.light_config.body_string = '<p t-out="object.no_such_field"/>'
        trap = self._prepare_trapped()
        with self.assertRaisesRegex(UserError, "no_such_field"):
            trap.perform_enqueued_jobs()
        self._chunks().invalidate_recordset()
        # The first job to run failed (the trap stops there).
        chunk = self._chunks().filtered(lambda c: c.state == "failed")
        self.assertEqual(len(chunk), 1)
        self.assertIn("no_such_field", chunk.error)
        self.assertFalse(self.payments(cycle))
        cycle.invalidate_recordset()
        self.assertTrue(cycle.locked, "the run is not over: its jobs can be retried")
        self.assertEqual(cycle.voucher_jobs_failed, 1)
        failures = [b for b in self._cycle_messages(cycle) if "failed" in b]
        self.assertEqual(len(failures), 1)
        self.assertIn("no_such_field", failures[0])
        self.assertIn("Retry Failed Vouchers", failures[0])
        # Fixed, retried: the job runs again (queue_job re-runs the same job).
        self.light_config.body_string = LIGHT_TEMPLATE
        cycle.action_retry_voucher_chunks()
        self.assertEqual(chunk.state, "pending")
        self.assertFalse(chunk.error)
        for open_chunk in self._chunks():
            open_chunk._run()
        self.manager._finish_voucher_run(cycle, cycle.voucher_run_ref)
        self.assertEqual(len(self.payments(cycle)), self.LARGE_COUNT)
        self.assertFalse(cycle.locked)

    def test_chunk_files_go_in_its_folder_and_leftovers_of_a_dead_run_go(self):
        if "relative_path" not in self.env["storage.file"]._fields:
            self.skipTest("the stand-in keeps files in Odoo's filestore (GC'd by Odoo)")
        trap = self._prepare_trapped()
        chunk = self._chunks()[0]
        prefix = chunk._storage_prefix()
        # What a worker killed before its commit leaves: a file, no row.
        self.store.add(prefix + "/left-by-a-dead-run.pdf", b"%PDF-1.4 partial")
        self.assertIn("left-by-a-dead-run.pdf", self.store.list_files(prefix))
        trap.perform_enqueued_jobs()
        names = self.store.list_files(prefix)
        self.assertNotIn("left-by-a-dead-run.pdf", names)
        self.assertEqual(len(names), chunk.payment_count)
        files = self.payments(self.large_cycle).payment_file_ids
        chunk_paths = {
            p for p in files.mapped("relative_path") if p.startswith(prefix + "/")
        }
        self.assertEqual({prefix + "/" + n for n in names}, chunk_paths)

    def test_cancelling_a_failed_run_unlocks_the_cycle_and_pays_the_rest_later(self):
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)
        cycle = self.large_cycle
        self.light_config.body_string = '<p t-out="object.no_such_field"/>'
        trap = self._prepare_trapped()
        with self.assertRaisesRegex(UserError, "no_such_field"):
            trap.perform_enqueued_jobs()
        cycle.invalidate_recordset()
        self.assertTrue(cycle.locked)
        cycle.action_cancel_voucher_chunks()
        cycle.invalidate_recordset()
        self.assertFalse(cycle.locked)
        self.assertEqual(set(self._chunks().mapped("state")), {"cancelled"})
        self.assertIn(
            "5 unfinished jobs (205 entitlements) cancelled",
            " ".join(self._cycle_messages(cycle)),
        )
        # A later run plans every entitlement again.
        self.light_config.body_string = LIGHT_TEMPLATE
        trap = self._prepare_trapped()
        self.assertEqual(cycle.voucher_entitlements_total, self.LARGE_COUNT)
        trap.perform_enqueued_jobs()
        self.assertEqual(len(self.payments(cycle)), self.LARGE_COUNT)

    def test_chunk_size_below_one_is_refused_with_the_fix(self):
        with self.assertRaisesRegex(Exception, "Vouchers per Job must be at least 1"):
            self.manager.voucher_chunk_size = 0

    def test_started_chunk_job_of_a_dead_worker_is_queued_again(self):
        self._prepare_trapped()
        chunk = self._chunks()[0]
        job = chunk.with_delay()._run()
        record = self.env["queue.job"].search([("uuid", "=", job.uuid)])
        long_ago = fields.Datetime.now() - timedelta(hours=1)
        record.write({"state": "started", "date_started": long_ago})
        fresh = self._chunks()[1].with_delay()._run()
        fresh_record = self.env["queue.job"].search([("uuid", "=", fresh.uuid)])
        fresh_record.write({"state": "started", "date_started": fields.Datetime.now()})
        self.assertEqual(self.Chunk._cron_requeue_stale_chunks(), 1)
        self.assertEqual(record.state, "pending")
        self.assertEqual(fresh_record.state, "started")

    def test_missing_store_of_a_large_cycle_is_reported_on_the_click(self):
        self.program.supporting_documents_store = False
        with self.assertRaisesRegex(UserError, "File manager.*document store"):
            self.large_cycle.prepare_payment()
        self.assertFalse(self.large_cycle.locked)
        self.assertFalse(self._chunks())


@tagged("post_install", "-at_install")
class TestVoucherChunkClaim(TransactionCase):
    """The claim of a chunk against a second run in another transaction
    (committed rows, two database connections, as two workers would)."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            program = env["g2p.program"].create({"name": "Claim test program"})
            today = fields.Date.today()
            cycle = env["g2p.cycle"].create(
                {
                    "name": "Claim test cycle",
                    "program_id": program.id,
                    "start_date": today,
                    "end_date": today,
                }
            )
            manager = env["g2p.program.payment.manager.file"].create(
                {"name": "Claim test manager", "program_id": program.id}
            )
            chunk = env["g2p.payment.file.chunk"].create(
                {
                    "manager_id": manager.id,
                    "cycle_id": cycle.id,
                    "run_ref": "claim-test",
                    "plan": [],
                }
            )
            self.ids = (program.id, cycle.id, manager.id, chunk.id)
        self.addCleanup(self._remove_committed_rows)

    def _remove_committed_rows(self):
        program_id, cycle_id, manager_id, chunk_id = self.ids
        with self.registry.cursor() as cr:
            # Rows other tests could see (a published key above all) go; the
            # program, which the real base links to managers of every kind,
            # is archived.
            cr.execute("DELETE FROM g2p_payment_file_chunk WHERE id = %s", [chunk_id])
            cr.execute(
                "DELETE FROM g2p_crypto_key_set WHERE file_payment_manager_id = %s",
                [manager_id],
            )
            cr.execute(
                "DELETE FROM g2p_program_payment_manager_file WHERE id = %s",
                [manager_id],
            )
            cr.execute("DELETE FROM g2p_cycle WHERE id = %s", [cycle_id])
            cr.execute(
                "UPDATE g2p_program SET active = false WHERE id = %s", [program_id]
            )

    def _chunk_in_new_cursor(self):
        cr = self.registry.cursor()
        self.addCleanup(cr.close)
        return api.Environment(cr, SUPERUSER_ID, {})["g2p.payment.file.chunk"].browse(
            self.ids[3]
        )

    def test_a_second_run_cannot_claim_a_chunk_being_run(self):
        first, second = self._chunk_in_new_cursor(), self._chunk_in_new_cursor()
        self.assertTrue(first._claim())
        with (
            self.assertRaises(psycopg2.errors.LockNotAvailable),
            mute_logger("odoo.sql_db"),
        ):
            second._claim()
        second.env.cr.rollback()
        first.env.cr.rollback()

    def test_a_run_that_started_before_the_other_committed_retries_then_skips(self):
        first, second = self._chunk_in_new_cursor(), self._chunk_in_new_cursor()
        # The second run's snapshot is taken before the first one commits.
        second.env.cr.execute("SELECT 1")
        self.assertTrue(first._claim())
        first.write({"state": "done"})
        first.env.cr.commit()
        # Reading the state from its old snapshot would say "pending" and
        # pay everyone again: PostgreSQL refuses (queue_job retries the job).
        with (
            self.assertRaises(psycopg2.errors.SerializationFailure),
            mute_logger("odoo.sql_db"),
        ):
            second._claim()
        second.env.cr.rollback()
        self.assertFalse(second._claim(), "the retried run finds the chunk done")
        # Both errors are among those queue_job retries.
        self.assertIn(errorcodes.SERIALIZATION_FAILURE, PG_CONCURRENCY_ERRORS_TO_RETRY)
        self.assertIn(errorcodes.LOCK_NOT_AVAILABLE, PG_CONCURRENCY_ERRORS_TO_RETRY)
