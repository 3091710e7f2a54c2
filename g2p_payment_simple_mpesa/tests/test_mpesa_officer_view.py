from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import MpesaCase, const
from .common_daraja import DarajaCase


@tagged("post_install", "-at_install")
class TestMpesaOfficerViewCycle(MpesaCase):
    """What the cycle form shows an officer, step by step through a cycle."""

    def test_cycle_walk_shows_counts_amounts_next_step_and_useful_buttons(self):
        cycle = self.phone_cycle(3, amount=100, first=301)
        cycle.state = "approved"
        self.assertTrue(cycle.mpesa_is_mpesa)
        self.assertEqual(cycle.mpesa_to_prepare_count, 3)
        self.assertEqual(cycle.mpesa_payment_count, 0)
        self.assertTrue(cycle.mpesa_show_prepare)
        self.assertFalse(cycle.mpesa_show_send)
        self.assertFalse(cycle.mpesa_show_mark_distributed)
        self.assertIn("Click Prepare Payments", cycle.mpesa_next_action)

        cycle.prepare_payment()
        cycle.invalidate_recordset()
        self.assertEqual(cycle.mpesa_unsent_count, 3)
        self.assertEqual(cycle.mpesa_to_prepare_count, 0)
        self.assertFalse(cycle.mpesa_show_prepare)
        self.assertTrue(cycle.mpesa_show_send)
        self.assertIn("Click Send Payments", cycle.mpesa_next_action)
        self.assertEqual(cycle.mpesa_amount_total, 300)
        self.assertEqual(cycle.mpesa_amount_remaining, 300)

        cycle.send_payment()
        cycle.invalidate_recordset()
        self.assertEqual((cycle.mpesa_unsent_count, cycle.mpesa_queued_count), (0, 3))
        self.assertFalse(cycle.mpesa_show_send)
        self.assertFalse(cycle.mpesa_show_mark_distributed)
        self.assertIn("scheduled job sends them, next at", cycle.mpesa_next_action)

        self.run_cron()
        self.assertEqual(cycle.mpesa_paid_count, 3)
        self.assertEqual(cycle.mpesa_amount_paid, 300)
        self.assertEqual(cycle.mpesa_amount_remaining, 0)
        self.assertEqual(cycle.mpesa_progress, 100.0)
        self.assertEqual(cycle.mpesa_status_level, const.NOTIFY_SUCCESS)
        self.assertIn("3 of 3 payments paid", cycle.mpesa_summary)
        self.assertIn("click Mark Distributed", cycle.mpesa_next_action)
        self.assertFalse(cycle.mpesa_show_prepare or cycle.mpesa_show_send)
        self.assertTrue(cycle.mpesa_show_mark_distributed)
        # The batches tab: the dispatch figures of each batch.
        batch = cycle.payment_batch_ids
        self.assertEqual(batch.mpesa_dispatch_state, const.BATCH_DONE)
        self.assertEqual(batch.mpesa_paid_count, 3)

        cycle.action_mpesa_mark_distributed()
        self.assertEqual(cycle.state, "distributed")
        cycle.invalidate_recordset()
        self.assertFalse(cycle.mpesa_show_mark_distributed)
        self.assertIn("Nothing to do", cycle.mpesa_next_action)

    def test_in_doubt_and_failed_payments_are_counted_with_what_to_do(self):
        cycle = self.make_cycle(
            [
                ({"name": "Paid one", "phone": "0700000311"}, 100),
                ({"name": "Doubtful one", "phone": "0700000312"}, 100),
                ({"name": "Without phone"}, 100),
            ]
        )
        cycle.state = "approved"
        self.prepare_and_send(cycle)
        self.sim.add_fault(kind="status", status=500, account=self.msisdn(312))
        self.run_cron()
        self.assertEqual(
            (
                cycle.mpesa_paid_count,
                cycle.mpesa_in_doubt_count,
                cycle.mpesa_failed_count,
            ),
            (1, 1, 1),
        )
        self.assertEqual(cycle.mpesa_amount_remaining, 100)
        self.assertEqual(cycle.mpesa_amount_failed, 100)
        self.assertEqual(cycle.mpesa_status_level, const.NOTIFY_DANGER)
        steps = cycle.mpesa_next_action
        self.assertIn("In doubt: 1", steps)
        self.assertIn("Check Agent Balance or Reconcile", steps)
        self.assertIn("Failed: 1", steps)
        # The failed entitlement is payable again; in doubt blocks closing.
        self.assertTrue(cycle.mpesa_show_prepare)
        self.assertFalse(cycle.mpesa_show_mark_distributed)
        with self.assertRaises(UserError) as caught:
            cycle.action_mpesa_mark_distributed()
        self.assertIn("reconcile the in-doubt ones first", str(caught.exception))
        in_doubt = cycle.action_mpesa_open_in_doubt()
        found = self.env["g2p.payment"].search(in_doubt["domain"])
        self.assertEqual(found.partner_id.name, "Doubtful one")
        self.assertIn("o_view_nocontent_smiling_face", in_doubt["help"])
        failed = self.env["g2p.payment"].search(
            cycle.action_mpesa_open_failed()["domain"]
        )
        self.assertEqual(failed.partner_id.name, "Without phone")

    def test_figures_come_from_sql_without_loading_the_payments(self):
        cycle = self.phone_cycle(5, amount=100, first=321)
        self.prepare_and_send(cycle)
        self.env.invalidate_all()
        Payment = self.env["g2p.payment"]
        self.assertEqual(cycle.mpesa_queued_count, 5)
        self.assertEqual(cycle.mpesa_amount_total, 500)
        cached = self.env.cache.get_records(Payment, Payment._fields["amount_issued"])
        # At most the one payment read for the currency, never the cycle's.
        self.assertLessEqual(len(cached), 1)

    def test_cycle_of_another_payment_manager_shows_no_mpesa_guidance(self):
        program = self.env["g2p.program"].create({"name": "Not Mpesa"})
        cycle = self.env["g2p.cycle"].create(
            {
                "name": "Other cycle",
                "program_id": program.id,
                "start_date": "2026-01-01",
                "end_date": "2026-01-31",
            }
        )
        self.assertFalse(cycle.mpesa_is_mpesa)
        self.assertFalse(cycle.mpesa_summary)
        self.assertFalse(cycle.mpesa_next_action)
        batch = self.env["g2p.payment.batch"].create(
            {"name": "voucher-like", "cycle_id": cycle.id}
        )
        self.assertFalse(batch.mpesa_dispatch_state)

    def test_cycle_form_has_the_mpesa_summary_and_guarded_buttons(self):
        arch = self.env["g2p.cycle"].get_view(view_type="form")["arch"]
        for name in (
            "mpesa_show_send",
            "mpesa_show_prepare",
            "mpesa_show_mark_distributed",
            "mpesa_next_action",
            "mpesa_amount_remaining",
            "action_mpesa_open_in_doubt",
            "mpesa_dispatch_state",
        ):
            self.assertIn('name="%s"' % name, arch)
        self.assertIn("mpesa_is_mpesa and not mpesa_show_send", arch)


@tagged("post_install", "-at_install")
class TestMpesaOfficerViewDarajaCycle(DarajaCase):
    """Payments Daraja accepted are sent: the cycle says their result is awaited."""

    def test_accepted_payments_count_as_awaiting_result_not_queued(self):
        payments = self.send_cycle(3)
        cycle = payments.cycle_id
        cycle.state = "approved"
        self.assertEqual(set(payments.mapped("mpesa_state")), {const.DARAJA_ACCEPTED})
        self.assertEqual((cycle.mpesa_queued_count, cycle.mpesa_unsent_count), (0, 0))
        self.assertEqual(cycle.mpesa_awaiting_count, 3)
        batch = payments.batch_id
        self.assertEqual((batch.mpesa_queued_count, batch.mpesa_awaiting_count), (0, 3))
        self.assertEqual(cycle.mpesa_amount_remaining, 4500)
        self.assertIn("3 sent, awaiting their result", cycle.mpesa_summary)
        steps = cycle.mpesa_next_action
        self.assertIn("Awaiting result: 3", steps)
        self.assertNotIn("Queued", steps)
        self.assertNotIn("scheduled job sends them", steps)
        self.assertEqual(cycle.mpesa_status_level, const.NOTIFY_INFO)
        # Still on its way: the cycle cannot be closed yet.
        self.assertFalse(cycle.mpesa_show_mark_distributed)
        with self.assertRaises(UserError) as caught:
            cycle.action_mpesa_mark_distributed()
        self.assertIn("awaiting a result", str(caught.exception))

        self.deliver_callbacks()
        cycle.invalidate_recordset()
        self.assertEqual((cycle.mpesa_paid_count, cycle.mpesa_awaiting_count), (3, 0))
        self.assertEqual(cycle.mpesa_progress, 100.0)
        self.assertNotIn("awaiting", cycle.mpesa_summary)
        self.assertTrue(cycle.mpesa_show_mark_distributed)

    def test_accepted_payment_says_when_its_result_is_asked_for(self):
        payment = self.send_cycle(1)
        self.assertEqual(payment.mpesa_status_title, "Accepted, awaiting result")
        self.assertEqual(payment.mpesa_status_level, const.NOTIFY_INFO)
        action = payment.mpesa_next_action
        self.assertIn("Daraja accepted it", action)
        self.assertIn(payment._mpesa_when(payment.daraja_deadline), action)
        self.assertIn("Transaction Status query", action)
        # The status bar reads Queued > Sending > Accepted > Paid.
        keys = [
            key
            for key, _label in self.env["g2p.payment"]
            ._fields["mpesa_state"]
            ._description_selection(self.env)
        ]
        self.assertEqual(
            keys[:4],
            [const.QUEUED, const.SENDING, const.DARAJA_ACCEPTED, const.PAID],
        )

    def test_cycle_form_lists_the_awaiting_count(self):
        arch = self.env["g2p.cycle"].get_view(view_type="form")["arch"]
        # In the summary, and as a column of the Payment Batches tab.
        self.assertEqual(arch.count('name="mpesa_awaiting_count"'), 2)


@tagged("post_install", "-at_install")
class TestMpesaOfficerViewPayment(MpesaCase):
    """One status, its meaning and the next step on each payment."""

    def test_each_state_has_one_status_and_a_next_step(self):
        cycle = self.make_cycle(
            [
                ({"name": "Will be paid", "phone": "0700000331"}, 100),
                ({"name": "Has no phone"}, 100),
            ]
        )
        cycle.prepare_payment()
        by_name = {p.partner_id.name: p for p in self.payments(cycle)}
        paid, failed = by_name["Will be paid"], by_name["Has no phone"]
        self.assertEqual(paid.mpesa_status_title, "Prepared, not sent")
        self.assertIn("Send Payments", paid.mpesa_next_action)
        self.assertEqual(paid.mpesa_payee_preview, self.msisdn(331))
        self.assertIn("has no phone number", failed.mpesa_payee_preview)

        cycle.send_payment()
        paid.invalidate_recordset()
        self.assertEqual(paid.mpesa_status_title, "Queued")
        self.assertIn("next run of the scheduled job", paid.mpesa_next_action)

        self.run_cron()
        self.assertEqual(paid.mpesa_status_title, "Paid")
        self.assertEqual(paid.mpesa_status_level, const.NOTIFY_SUCCESS)
        self.assertIn(self.msisdn(331), paid.mpesa_next_action)
        self.assertIn("Nothing to do", paid.mpesa_next_action)
        self.assertEqual(failed.mpesa_status_title, "Failed")
        self.assertEqual(failed.mpesa_status_level, const.NOTIFY_DANGER)
        self.assertIn("has no phone number", failed.mpesa_next_action)
        self.assertIn("then click Prepare Payments on cycle", failed.mpesa_next_action)

    def test_in_doubt_payment_says_check_balance_or_reconcile(self):
        cycle = self.phone_cycle(1, first=341)
        self.prepare_and_send(cycle)
        self.sim.add_fault(kind="status", status=500, account=self.msisdn(341))
        self.run_cron()
        payment = self.payments(cycle)
        self.assertEqual(payment.mpesa_status_title, "In doubt")
        self.assertEqual(payment.mpesa_status_level, const.NOTIFY_WARNING)
        self.assertIn("never re-sent on its own", payment.mpesa_next_action)
        self.assertIn("Check Agent Balance", payment.mpesa_next_action)
        self.assertIn("Reconcile", payment.mpesa_next_action)
        # The In-doubt list offers the same, for several payments at once.
        action = (
            self.env.ref("g2p_payment_simple_mpesa.action_server_mpesa_reconcile")
            .with_context(active_model="g2p.payment", active_ids=payment.ids)
            .run()
        )
        self.assertEqual(action["res_model"], "g2p.payment.mpesa.reconcile.wizard")
        self.assertEqual(
            action["context"]["default_payment_ids"], [(6, 0, payment.ids)]
        )

    def test_sent_to_is_the_payee_used_not_the_bank_account(self):
        self.manager.payee_id_type = "email"
        partner = self.env["res.partner"].create(
            {"name": "Mail payee", "is_registrant": True, "email": "pay.me@example.org"}
        )
        self.env["res.partner.bank"].create(
            {"partner_id": partner.id, "acc_number": "3190817914"}
        )
        cycle = self.make_empty_cycle("Sent-to cycle")
        self.env["g2p.entitlement"].create(
            {
                "partner_id": partner.id,
                "cycle_id": cycle.id,
                "initial_amount": 100,
                "state": "approved",
            }
        )
        self.prepare_and_send(cycle)
        self.run_cron()
        payment = self.payments(cycle)
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assertEqual(payment.account_number, "3190817914")
        self.assertEqual(payment.mpesa_account_no, "pay.me@example.org")
        self.assertEqual(payment._fields["mpesa_account_no"].string, "Sent To")
        self.assertIn("pay.me@example.org", payment.mpesa_next_action)

    def test_payment_of_another_manager_has_no_mpesa_status(self):
        payment = self.env["g2p.payment"].new({"amount_issued": 10})
        self.assertFalse(payment.mpesa_status_title)
        self.assertFalse(payment.mpesa_next_action)

    def test_payment_form_hides_the_base_state_bar_and_shows_ours(self):
        arch = self.env["g2p.payment"].get_view(view_type="form")["arch"]
        self.assertIn('statusbar_visible="queued,sending,paid"', arch)
        self.assertIn('name="mpesa_next_action"', arch)
        self.assertIn('name="mpesa_account_no"', arch)


@tagged("post_install", "-at_install")
class TestMpesaOfficerViewManager(MpesaCase):
    """Manager form: buttons that apply, in-doubt banner, readable tags."""

    def test_unsaved_manager_offers_no_disbursement_buttons(self):
        draft = self.env["g2p.program.payment.manager.simple.mpesa"].new(
            {"name": "Draft manager"}
        )
        self.assertFalse(draft.mpesa_is_saved)
        self.assertFalse(draft.mpesa_show_disburse_now)
        self.assertFalse(draft.mpesa_attention)

    def test_disburse_now_only_with_queued_payments(self):
        self.assertTrue(self.manager.mpesa_is_saved)
        self.assertFalse(self.manager.mpesa_show_disburse_now)
        cycle = self.phone_cycle(1, first=351)
        self.prepare_and_send(cycle)
        self.manager.invalidate_recordset()
        self.assertTrue(self.manager.mpesa_show_disburse_now)
        self.run_cron()
        self.assertFalse(self.manager.mpesa_show_disburse_now)

    def test_in_doubt_banner_names_the_count_and_the_actions(self):
        self.assertFalse(self.manager.mpesa_attention)
        cycle = self.phone_cycle(1, first=361)
        self.prepare_and_send(cycle)
        self.sim.add_fault(kind="status", status=500, account=self.msisdn(361))
        self.run_cron()
        self.assertIn("In doubt: 1", self.manager.mpesa_attention)
        self.assertIn("Check Agent Balance", self.manager.mpesa_attention)
        action = self.manager.action_open_in_doubt_payments()
        self.assertIn("o_view_nocontent_smiling_face", action["help"])
        self.assertEqual(len(self.env["g2p.payment"].search(action["domain"])), 1)

    def test_batch_tags_are_listed_readably(self):
        other = self.env["g2p.payment.batch.tag"].create(
            {
                "name": "Big",
                "order": 0,
                "domain": "[('initial_amount', '>', 1000)]",
                "max_batch_size": 10,
            }
        )
        self.assertEqual(
            self.tag.mpesa_domain_label, "Everyone not matched by an earlier tag"
        )
        self.assertIn("('initial_amount', '>', 1000)", other.mpesa_domain_label)
        arch = self.env["g2p.program.payment.manager.simple.mpesa"].get_view(
            view_type="form"
        )["arch"]
        self.assertIn('name="mpesa_domain_label"', arch)
        self.assertIn('name="action_mpesa_test_connection"', arch)

    def test_several_mistakes_are_reported_in_one_message(self):
        with self.assertRaises(ValidationError) as caught:
            self.manager.write(
                {
                    "payment_endpoint_url": "not a url",
                    "api_timeout": 0,
                    "mpesa_max_attempts": 0,
                }
            )
        message = str(caught.exception)
        self.assertIn("- Payment Endpoint URL", message)
        self.assertIn("- API Timeout", message)
        self.assertIn("- Max Attempts", message)
        self.assertNotIn("/api/login", message)

    def test_new_manager_defaults_its_payee_id_field(self):
        manager = self.env["g2p.program.payment.manager.simple.mpesa"].create(
            {
                "name": "Defaults",
                "program_id": self.program.id,
                "batch_tag_ids": [Command.set(self.tag.ids)],
                "auth_endpoint_url": self.sim.auth_url,
                "payment_endpoint_url": self.sim.payment_url,
            }
        )
        self.assertEqual(manager.payee_id_type, "phone")
