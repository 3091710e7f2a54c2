"""Two runs of one Prepare chunk at the same time, in two real transactions.

The data is committed (other connections must see it) and removed afterwards.
Odoo runs every transaction in REPEATABLE READ: the second run must neither
wait for nor miss the first run's payments.  Either it meets the first run's
row locks (LockNotAvailable at once), or its snapshot predates the first
run's COMMIT and it fails on the rows that run updated (serialization
failure); queue_job retries both, and the retry issues nothing new.
"""

import psycopg2
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tests import tagged
from odoo.tests.common import TransactionCase
from odoo.tools import mute_logger

MANAGER = "g2p.program.payment.manager.simple.mpesa"
COUNT = 6


@tagged("post_install", "-at_install")
class TestMpesaPrepareConcurrentRuns(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.made = {}
        cls.addClassCleanup(cls._remove_committed)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            program = env["g2p.program"].create({"name": "Concurrent prepare"})
            tag = env["g2p.payment.batch.tag"].create(
                {"name": "Concurrent all", "order": 1, "domain": "[]"}
            )
            manager = env[MANAGER].create(
                {
                    "name": "Concurrent Mpesa manager",
                    "program_id": program.id,
                    "create_batch": True,
                    "batch_tag_ids": [Command.set(tag.ids)],
                    "auth_endpoint_url": "http://127.0.0.1:9/api/login/agent",
                    "payment_endpoint_url": "http://127.0.0.1:9/api/transaction/deposit",
                }
            )
            program.payment_managers[:1].manager_ref_id = manager
            cls.made.update(program=program.id, tag=tag.id, manager=manager.id)
            partners = env["res.partner"].create(
                [
                    {
                        "name": f"Concurrent {i}",
                        "is_registrant": True,
                        "phone": f"0799{i:06d}",
                    }
                    for i in range(COUNT)
                ]
            )
            cls.made["partners"] = partners.ids
            cycle = env["g2p.cycle"].create(
                {
                    "name": "Concurrent cycle",
                    "program_id": program.id,
                    "start_date": fields.Date.today(),
                    "end_date": fields.Date.today(),
                }
            )
            cls.made["cycle"] = cycle.id
            cls.made["entitlements"] = (
                env["g2p.entitlement"]
                .create(
                    [
                        {
                            "partner_id": partner.id,
                            "cycle_id": cycle.id,
                            "initial_amount": 100,
                            "state": "approved",
                        }
                        for partner in partners
                    ]
                )
                .ids
            )

    def setUp(self):
        super().setUp()
        # Every test starts from a cycle with no payment yet.
        with self.registry.cursor() as cr:
            self._remove_payments(cr, self.made["cycle"])

    @staticmethod
    def _remove_payments(cr, cycle_id):
        cr.execute("DELETE FROM g2p_payment WHERE cycle_id = %s", (cycle_id,))
        cr.execute("DELETE FROM g2p_payment_batch WHERE cycle_id = %s", (cycle_id,))

    @classmethod
    def _remove_committed(cls):
        made = cls.made
        with cls.registry.cursor() as cr:
            # Plain SQL, children first: both bases refuse some of these
            # deletions through the ORM (approved entitlements, programs).
            if made.get("cycle"):
                cls._remove_payments(cr, made["cycle"])
                cr.execute(
                    "DELETE FROM g2p_entitlement WHERE cycle_id = %s", (made["cycle"],)
                )
                cr.execute("DELETE FROM g2p_cycle WHERE id = %s", (made["cycle"],))
            if made.get("program"):
                cr.execute(
                    "DELETE FROM g2p_program_payment_manager WHERE program_id = %s",
                    (made["program"],),
                )
                cr.execute(
                    "DELETE FROM g2p_program_payment_manager_simple_mpesa "
                    "WHERE program_id = %s",
                    (made["program"],),
                )
                # The base's default managers stay with the archived program.
                cr.execute(
                    "UPDATE g2p_program SET active = false WHERE id = %s",
                    (made["program"],),
                )
            if made.get("partners"):
                cr.execute(
                    "UPDATE res_partner SET active = false WHERE id = ANY(%s)",
                    (made["partners"],),
                )
            if made.get("tag"):
                cr.execute(
                    "DELETE FROM g2p_payment_batch_tag WHERE id = %s", (made["tag"],)
                )

    # -- helpers ----------------------------------------------------------------
    def run_chunk(self, cr):
        """The chunk job's work in the transaction of ``cr``."""
        env = api.Environment(cr, SUPERUSER_ID, {})
        return (
            env[MANAGER]
            .browse(self.made["manager"])
            ._prepare_payments(
                env["g2p.cycle"].browse(self.made["cycle"]),
                env["g2p.entitlement"].browse(self.made["entitlements"]),
            )
        )

    def count_payments(self, cr):
        cr.execute(
            "SELECT count(*), count(DISTINCT entitlement_id) FROM g2p_payment "
            "WHERE entitlement_id = ANY(%s)",
            (self.made["entitlements"],),
        )
        return cr.fetchone()

    def assert_retried_by_queue_job(self, error, pgcode):
        self.assertEqual(error.pgcode, pgcode)
        self.assertIn(error.pgcode, PG_CONCURRENCY_ERRORS_TO_RETRY)

    def assert_retry_issues_nothing(self):
        with self.registry.cursor() as cr:
            self.assertEqual(self.run_chunk(cr), (None, None))
        with self.registry.cursor() as cr:
            self.assertEqual(self.count_payments(cr), (COUNT, COUNT))

    # -- the two races ----------------------------------------------------------
    def test_run_meeting_the_other_runs_row_locks_fails_at_once(self):
        with self.registry.cursor() as first:
            payments, _batches = self.run_chunk(first)
            self.assertEqual(len(payments), COUNT)
            with self.registry.cursor() as second:
                with (
                    mute_logger("odoo.sql_db"),
                    self.assertRaises(psycopg2.OperationalError) as caught,
                ):
                    self.run_chunk(second)
                second.rollback()
            self.assert_retried_by_queue_job(
                caught.exception, errorcodes.LOCK_NOT_AVAILABLE
            )
        self.assert_retry_issues_nothing()

    def test_run_whose_snapshot_predates_the_others_commit_fails_on_its_rows(self):
        with self.registry.cursor() as late:
            # The snapshot of this transaction is taken by its first query.
            self.assertEqual(self.count_payments(late), (0, 0))
            with self.registry.cursor() as first:
                self.run_chunk(first)
            # Committed, yet invisible here: REPEATABLE READ.
            self.assertEqual(self.count_payments(late), (0, 0))
            with (
                mute_logger("odoo.sql_db"),
                self.assertRaises(psycopg2.OperationalError) as caught,
            ):
                self.run_chunk(late)
            late.rollback()
        self.assert_retried_by_queue_job(
            caught.exception, errorcodes.SERIALIZATION_FAILURE
        )
        self.assert_retry_issues_nothing()
