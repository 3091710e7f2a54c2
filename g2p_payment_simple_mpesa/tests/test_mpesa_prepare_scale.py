"""Prepare at scale: chunk jobs of whole batches, the same batches as one run,
and never a second payment for an entitlement, whoever runs a chunk again."""

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import MpesaCase, const

MANAGER = "g2p.program.payment.manager.simple.mpesa"
# From this many approved entitlements both bases hand Prepare to a job.
ASYNC_FROM = 200


@tagged("post_install", "-at_install")
class TestMpesaPrepareChunks(MpesaCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Tag = cls.env["g2p.payment.batch.tag"]
        cls.large_tag = Tag.create(
            {
                "name": "Large amounts",
                "order": 1,
                "domain": "[('initial_amount', '>', 500)]",
                "max_batch_size": 7,
            }
        )
        cls.rest_tag = Tag.create(
            {"name": "Everyone else", "order": 2, "domain": "[]", "max_batch_size": 25}
        )

    def setUp(self):
        super().setUp()
        self.manager.write(
            {
                "batch_tag_ids": [Command.set((self.large_tag | self.rest_tag).ids)],
                "mpesa_prepare_chunk_size": 60,
            }
        )

    # -- builders -------------------------------------------------------------
    def mixed_cycle(self, count, first):
        """Every third beneficiary gets a large amount (the first tag's)."""
        return self.make_cycle(
            [
                (
                    {"name": "Beneficiary %s" % i, "phone": "07%08d" % i},
                    900 if i % 3 == 0 else 100,
                )
                for i in range(first, first + count)
            ]
        )

    def approved(self, cycle):
        return cycle.entitlement_ids.filtered(lambda e: e.state == "approved")

    def batch_shape(self, cycle):
        """Each batch as (tag, beneficiaries in entitlement order), in order."""
        shape = []
        for batch in cycle.payment_batch_ids:
            entitlements = batch.payment_ids.entitlement_id.sorted("id")
            shape.append((batch.tag_id.name, tuple(entitlements.partner_id.ids)))
        return sorted(shape, key=lambda item: (item[0], item[1][0]))

    def prepare_in_jobs(self, cycle):
        """Prepare Payments with its chunk jobs trapped; returns the trap."""
        with trap_jobs() as trap:
            action = cycle.prepare_payment()
            self.assertEqual(action["params"]["type"], "success")
        return trap

    def payments_per_entitlement(self, cycle):
        payments = self.env["g2p.payment"].search([("cycle_id", "=", cycle.id)])
        counts = {}
        for payment in payments:
            counts[payment.entitlement_id.id] = (
                counts.get(payment.entitlement_id.id, 0) + 1
            )
        return counts

    # -- chunking ---------------------------------------------------------------
    def test_large_cycle_is_split_into_chunk_jobs_of_whole_batches(self):
        cycle = self.mixed_cycle(ASYNC_FROM + 10, first=1000)
        trap = self.prepare_in_jobs(cycle)
        # 70 large amounts in batches of 7, 140 others in batches of 25 (the
        # last of 15); jobs of at most 60 entitlements, whole batches only:
        # 8x7 | 2x7+25 | 25+25 | 25+25 | 15.
        trap.assert_jobs_count(5, only=self.manager._prepare_payments)
        trap.assert_jobs_count(1, only=self.manager._mpesa_prepare_done)
        sizes = sorted(
            len(job.args[1])
            for job in trap.enqueued_jobs
            if job.method_name == "_prepare_payments"
        )
        self.assertEqual(sizes, [15, 39, 50, 50, 56])
        self.assertTrue(cycle.locked)
        self.assertFalse(self.payments(cycle))
        trap.perform_enqueued_jobs()
        self.assertEqual(len(self.payments(cycle)), ASYNC_FROM + 10)
        self.assertEqual(set(self.states(cycle)), {const.QUEUED})
        self.assertEqual(cycle.payment_batch_ids.mpesa_manager_id, self.manager)

    def test_chunk_jobs_make_the_same_batches_as_one_synchronous_run(self):
        in_jobs = self.mixed_cycle(ASYNC_FROM + 10, first=2000)
        self.prepare_in_jobs(in_jobs).perform_enqueued_jobs()
        # The same beneficiaries and amounts, prepared by one call.
        at_once = self.make_empty_cycle("Same cycle, at once")
        self.env["g2p.entitlement"].create(
            [
                {
                    "partner_id": e.partner_id.id,
                    "cycle_id": at_once.id,
                    "initial_amount": e.initial_amount,
                    "state": "approved",
                }
                for e in in_jobs.entitlement_ids.sorted("id")
            ]
        )
        self.manager._prepare_payments(at_once, self.approved(at_once))
        shape = self.batch_shape(in_jobs)
        self.assertEqual(shape, self.batch_shape(at_once))
        sizes = sorted((tag, len(members)) for tag, members in shape)
        self.assertEqual(sizes.count(("Large amounts", 7)), 10)
        self.assertEqual(sizes.count(("Everyone else", 25)), 5)
        self.assertIn(("Everyone else", 15), sizes)
        self.assertEqual(len(sizes), 16)

    def test_chunk_jobs_run_on_the_mpesa_prepare_channel(self):
        cycle = self.mixed_cycle(ASYNC_FROM, first=3000)
        trap = self.prepare_in_jobs(cycle)
        channels = {job.channel for job in trap.enqueued_jobs}
        self.assertEqual(channels, {"root.mpesa_prepare"})

    def test_last_job_unlocks_the_cycle_and_posts_a_summary(self):
        cycle = self.mixed_cycle(ASYNC_FROM, first=4000)
        self.prepare_in_jobs(cycle).perform_enqueued_jobs()
        self.assertFalse(cycle.locked)
        self.assertFalse(cycle.locked_reason)
        bodies = " ".join(cycle.message_ids.mapped("body"))
        # 66 large (10 batches), 134 others (6 batches): jobs 56 | 60 | 50 | 34.
        self.assertIn("Payments prepared by 4 queued jobs", bodies)
        self.assertIn("200 Mpesa payments in 16 batches", bodies)

    def test_cycle_already_paid_queues_no_job_and_stays_unlocked(self):
        cycle = self.mixed_cycle(ASYNC_FROM, first=5000)
        self.prepare_in_jobs(cycle).perform_enqueued_jobs()
        with trap_jobs() as trap:
            cycle.prepare_payment()
            trap.assert_jobs_count(0)
        self.assertFalse(cycle.locked)
        self.assertIn(
            "none of the 200 approved entitlements needs a new payment",
            " ".join(cycle.message_ids.mapped("body")),
        )

    # -- idempotency ------------------------------------------------------------
    def test_chunk_job_run_again_creates_no_second_payment(self):
        cycle = self.mixed_cycle(ASYNC_FROM, first=6000)
        trap = self.prepare_in_jobs(cycle)
        chunk = next(
            job for job in trap.enqueued_jobs if job.method_name == "_prepare_payments"
        )
        trap.perform_enqueued_jobs()
        batches = cycle.payment_batch_ids
        # Retried or re-run by hand: the same job, the same arguments.
        payments, new_batches = self.manager._prepare_payments(*chunk.args)
        self.assertIsNone(payments)
        self.assertIsNone(new_batches)
        self.assertEqual(cycle.payment_batch_ids, batches)
        self.assertEqual(set(self.payments_per_entitlement(cycle).values()), {1})

    def test_chunk_run_again_pays_only_entitlements_whose_payments_all_failed(self):
        cycle = self.mixed_cycle(ASYNC_FROM, first=7000)
        self.prepare_in_jobs(cycle).perform_enqueued_jobs()
        failed = self.payments(cycle)[:3]
        failed.write({"status": const.G2P_STATUS_FAILED})
        payments, _batches = self.manager._prepare_payments(cycle, self.approved(cycle))
        self.assertEqual(payments.entitlement_id, failed.entitlement_id)
        counts = self.payments_per_entitlement(cycle)
        self.assertEqual(
            {e: n for e, n in counts.items() if n > 1},
            {e.id: 2 for e in failed.entitlement_id},
        )

    def test_small_cycle_is_prepared_on_the_click_with_account_snapshots(self):
        cycle = self.mixed_cycle(4, first=8000)
        bank = self.env["res.bank"].create({"name": "Scale test bank"})
        first = cycle.entitlement_ids.sorted("id")[0].partner_id
        self.env["res.partner.bank"].create(
            {"partner_id": first.id, "bank_id": bank.id, "acc_number": "SCALE-0001"}
        )
        with trap_jobs() as trap:
            cycle.prepare_payment()
            trap.assert_jobs_count(0)
        payments = self.payments(cycle)
        self.assertEqual(len(payments), 4)
        by_partner = {p.partner_id: p for p in payments}
        self.assertEqual(by_partner[first].account_number, "SCALE-0001")
        self.assertEqual(
            sorted(cycle.payment_batch_ids.tag_id.mapped("name")),
            ["Everyone else", "Large amounts"],
        )
        self.assertEqual(
            sorted(len(b.payment_ids) for b in cycle.payment_batch_ids), [1, 3]
        )

    def test_failed_chunk_job_unlocks_the_cycle_and_says_how_to_go_on(self):
        cycle = self.mixed_cycle(ASYNC_FROM, first=9000)
        trap = self.prepare_in_jobs(cycle)
        self.assertTrue(cycle.locked)
        # Broken between the click and the jobs (planning checked it).
        self._break_tag(domain="[('no_such_field', '=', 1)]")
        # The unlock is committed through a cursor of its own (the job's
        # transaction is rolled back): test mode maps it onto this test's.
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)
        with self.assertRaisesRegex(UserError, "no_such_field"):
            trap.perform_enqueued_jobs()
        cycle.invalidate_recordset()
        self.assertFalse(cycle.locked)
        notes = [b for b in cycle.message_ids.mapped("body") if "failed" in b]
        self.assertEqual(len(notes), 1, notes)
        self.assertIn("no_such_field", notes[0])
        self.assertIn("Prepare Payments again", notes[0])

    # -- settings an officer can get wrong --------------------------------------
    def test_prepare_job_size_below_one_is_refused_on_save(self):
        with self.assertRaises(ValidationError) as caught:
            self.manager.mpesa_prepare_chunk_size = 0
        self.assertIn("Payments per Prepare Job", str(caught.exception))
        self.assertIn("at least 1", str(caught.exception))

    def _break_tag(self, **values):
        # The stand-in refuses these on save, the real base does not: written
        # behind the ORM's back, as an older database may hold them.
        self.env.flush_all()
        sets = ", ".join(f"{column} = %s" for column in values)
        self.env.cr.execute(
            f"UPDATE g2p_payment_batch_tag SET {sets} WHERE id = %s",  # noqa: S608
            (*values.values(), self.large_tag.id),
        )
        self.large_tag.invalidate_recordset()

    def test_batch_tag_of_size_zero_is_refused_naming_the_tag(self):
        self._break_tag(max_batch_size=0)
        cycle = self.mixed_cycle(3, first=8100)
        with self.assertRaises(UserError) as caught:
            cycle.prepare_payment()
        self.assertIn("Large amounts", str(caught.exception))
        self.assertIn("maximum batch size", str(caught.exception))
        self.assertFalse(self.payments(cycle))

    def test_unreadable_tag_domain_is_refused_naming_the_tag(self):
        self._break_tag(domain="[('no_such_field', '=', 1)]")
        cycle = self.mixed_cycle(3, first=8200)
        with self.assertRaises(UserError) as caught:
            cycle.prepare_payment()
        message = str(caught.exception)
        self.assertIn("Large amounts", message)
        self.assertIn("no_such_field", message)
        self.assertIn("[('initial_amount', '>', 100)]", message)
        self.assertFalse(self.payments(cycle))
