from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ProgramCase


@tagged("post_install", "-at_install")
class TestDefaultPaymentManagerBulk(ProgramCase):
    """A large cycle: Prepare runs as a queued job (run here by hand)."""

    ENTITLEMENT_COUNT = 1200
    HIGH_COUNT = 700  # first tag: 500 + 200; catch-all (max 400): 400 + 100

    def _batch_sizes(self, tag):
        batches = self.cycle.payment_batch_ids.filtered(lambda b: b.tag_id == tag)
        return sorted((len(b.payment_ids) for b in batches), reverse=True)

    def test_prepare_issues_one_payment_per_entitlement_in_tag_batches(self):
        action = self.prepare_through_job()

        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertFalse(self.cycle.locked)
        payments = self.cycle_payments()
        self.assertEqual(len(payments), 1200)
        self.assertEqual(payments.entitlement_id, self.entitlements)
        self.assertEqual(len(set(payments.mapped("name"))), 1200)
        self.assertEqual(set(payments.mapped("state")), {"issued"})
        self.assertEqual(self._batch_sizes(self.tag_high), [500, 200])
        self.assertEqual(self._batch_sizes(self.tag_rest), [400, 100])
        self.assertEqual(len(self.cycle.payment_batch_ids), 4)
        high = payments.filtered(lambda p: p.batch_id.tag_id == self.tag_high)
        self.assertEqual(set(high.mapped("amount_issued")), {200.0})
        self.assertEqual(len(high), 700)
        for batch in self.cycle.payment_batch_ids:
            self.assertEqual(batch.payment_ids.batch_id, batch)
            self.assertEqual(batch.stats_issued_transactions, len(batch.payment_ids))
            self.assertTrue(batch.stats_datetime)

    def test_prepare_twice_creates_no_duplicates(self):
        self.prepare_through_job()
        # As upstream, the count includes paid entitlements: a second job runs
        # and finds nothing new.
        self.prepare_through_job()

        self.assertFalse(self.cycle.locked)
        self.assertEqual(len(self.cycle_payments()), 1200)
        self.assertEqual(len(self.cycle.payment_batch_ids), 4)

    def test_failed_payment_is_reissued_and_old_one_kept(self):
        self.prepare_through_job()
        entitlement = self.entitlements.filtered(
            lambda e: e.partner_id == self.registrants[-1]
        )
        failed = entitlement.payment_ids
        failed.write({"status": "failed", "state": "sent"})

        payments, batches = self.manager._prepare_payments(
            self.cycle, self.entitlements
        )

        self.assertEqual(len(payments), 1)
        self.assertEqual(payments.entitlement_id, entitlement)
        self.assertEqual(payments.state, "issued")
        self.assertFalse(payments.status)
        self.assertEqual(len(batches), 1)
        self.assertEqual(batches.tag_id, self.tag_rest)
        self.assertEqual(entitlement.payment_ids, failed | payments)
        self.assertEqual(failed.status, "failed")
        self.assertEqual(len(self.cycle_payments()), 1201)

    def test_only_approved_entitlements_are_paid(self):
        draft = self.entitlements[:3]
        draft.state = "draft"

        self.prepare_through_job()

        self.assertEqual(len(self.cycle_payments()), 1197)
        self.assertFalse(draft.payment_ids)

    def test_without_create_batch_payments_have_no_batch(self):
        self.manager.create_batch = False

        payments, batches = self.manager._prepare_payments(
            self.cycle, self.entitlements
        )

        self.assertEqual(len(payments), 1200)
        self.assertFalse(batches)
        self.assertFalse(payments.batch_id)

    def test_send_payments_has_no_channel_and_warns_on_nothing(self):
        self.prepare_through_job()

        # As upstream: the default manager sends nothing and returns nothing
        # (4 batches: on the click, no job).
        with trap_jobs() as trap:
            self.assertIsNone(self.cycle.send_payment())
            trap.assert_jobs_count(0)
        empty = self.manager.send_payments(self.env["g2p.payment.batch"])
        self.assertEqual(empty["params"]["type"], "warning")


@tagged("post_install", "-at_install")
class TestDefaultPaymentManager(ProgramCase):
    """Behaviour that does not need a large cycle (12 entitlements, 5 high)."""

    def test_prepare_of_a_small_cycle_runs_on_the_click(self):
        with trap_jobs() as trap:
            action = self.cycle.prepare_payment()
            trap.assert_jobs_count(0)

        self.assertEqual(action["params"]["type"], "success")
        self.assertFalse(action["params"]["sticky"])
        self.assertIn("12 payments", action["params"]["message"])
        self.assertEqual(len(self.cycle_payments()), 12)
        self.assertFalse(self.cycle.locked)

    def test_prepare_without_approved_entitlements_says_so(self):
        self.entitlements.state = "draft"

        action = self.cycle.prepare_payment()

        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("Cycle 1", action["params"]["message"])
        self.assertFalse(self.cycle_payments())

    def test_payment_snapshots_amount_fee_and_account(self):
        self.cycle.prepare_payment()

        with_bank = self.registrants[0]
        without_bank = self.registrants[1]
        pay_with = self.cycle_payments().filtered(lambda p: p.partner_id == with_bank)
        pay_without = self.cycle_payments().filtered(
            lambda p: p.partner_id == without_bank
        )
        self.assertEqual(pay_with.account_number, "ACC00000")
        self.assertFalse(pay_without.account_number)
        self.assertEqual(pay_with.amount_issued, 200.0)
        self.assertEqual(pay_with.payment_fee, 1.5)
        self.assertEqual(pay_with.program_id, self.program)
        self.assertEqual(pay_with.currency_id, self.program.currency_id)
        # The snapshot does not follow later edits of the bank account.
        with_bank.bank_ids.acc_number = "CHANGED"
        self.assertEqual(pay_with.account_number, "ACC00000")

    def test_paid_or_pending_payment_blocks_reissue(self):
        self.cycle.prepare_payment()
        entitlement = self.entitlements[0]
        entitlement.payment_ids.status = "paid"

        payments, batches = self.manager._prepare_payments(self.cycle, entitlement)

        self.assertIsNone(payments)
        self.assertIsNone(batches)

    def test_last_tag_with_domain_is_rejected_on_save(self):
        with self.assertRaisesRegex(ValidationError, "Wrong manager.*High amounts"):
            self.env["g2p.program.payment.manager.default"].create(
                {
                    "name": "Wrong manager",
                    "program_id": self.program.id,
                    "create_batch": True,
                    "batch_tag_ids": [Command.set(self.tag_high.ids)],
                }
            )

    def test_entitlements_matched_by_no_tag_are_not_paid(self):
        # As upstream: the tag is edited after the manager was saved, and the
        # entitlements it no longer matches get no payment (the payment
        # addons refuse such a configuration before preparing).
        self.tag_rest.domain = "[('transfer_fee', '>', 5)]"

        self.cycle.prepare_payment()

        paid = self.cycle_payments().entitlement_id
        self.assertEqual(len(paid), self.HIGH_COUNT)
        self.assertEqual(set(paid.mapped("initial_amount")), {200.0})

    def test_manager_without_tags_pays_nobody(self):
        self.manager.write({"create_batch": False, "batch_tag_ids": [Command.clear()]})

        self.assertEqual(
            self.manager._prepare_payments(self.cycle, self.entitlements), (None, None)
        )

    def test_invalid_tag_domain_is_rejected(self):
        with self.assertRaisesRegex(ValidationError, "High amounts"):
            self.tag_high.domain = "[('no_such_field', '=', 1)]"
        with self.assertRaisesRegex(ValidationError, "positive"):
            self.tag_high.max_batch_size = 0

    def test_batch_stats_follow_payment_results(self):
        self.cycle.prepare_payment()
        batch = self.cycle.payment_batch_ids.filtered(
            lambda b: b.tag_id == self.tag_rest
        )
        self.assertEqual(len(batch.payment_ids), 7)
        paid, failed = batch.payment_ids[:4], batch.payment_ids[4:6]
        paid.write({"state": "sent", "status": "paid", "amount_paid": 100.0})
        failed.write({"state": "sent", "status": "failed"})

        self.assertEqual(batch.stats_issued_transactions, 7)
        self.assertEqual(batch.stats_issued_amount, 700.0)
        self.assertEqual(batch.stats_sent_transactions, 6)
        self.assertEqual(batch.stats_sent_amount, 600.0)
        self.assertEqual(batch.stats_paid_transactions, 4)
        self.assertEqual(batch.stats_paid_amount, 400.0)
        self.assertEqual(batch.stats_failed_transactions, 2)
        self.assertEqual(batch.stats_failed_amount, 200.0)

    def test_prepare_without_payment_manager_says_so(self):
        self.program.payment_managers = [Command.clear()]

        with self.assertRaisesRegex(UserError, "No Payment Manager"):
            self.cycle.prepare_payment()

    def test_program_starts_with_one_default_payment_manager(self):
        program = self.env["g2p.program"].create({"name": "Fresh program"})

        manager = program.get_manager(program.MANAGER_PAYMENT)
        self.assertEqual(manager._name, "g2p.program.payment.manager.default")
        with self.assertRaisesRegex(UserError, "Fresh program.*only one"):
            program.payment_managers = [
                Command.create(
                    {"program_id": program.id, "manager_ref_id": self.manager}
                )
            ]

    def test_selection_lists_default_manager(self):
        selection = self.env["g2p.program.payment.manager"]._selection_manager_ref_id()

        self.assertIn(("g2p.program.payment.manager.default", "Default"), selection)
        self.assertEqual(
            self.program.get_manager(self.program.MANAGER_PAYMENT), self.manager
        )
