from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import AGENT, MpesaCase, const


@tagged("post_install", "-at_install")
class TestMpesaReconciliation(MpesaCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.finance = new_test_user(
            cls.env,
            login="mpesa_finance",
            groups="base.group_user,g2p_programs.g2p_finance_validator",
        )
        cls.program_manager = new_test_user(
            cls.env,
            login="mpesa_pm",
            groups="base.group_user,g2p_programs.g2p_program_manager",
        )

    def _in_doubt_then_paid(self, first):
        """Payment 1 times out unapplied (in doubt), payment 2 is paid after it."""
        cycle = self.phone_cycle(2, amount=100, first=first)
        self.prepare_and_send(cycle)
        self.sim.add_fault(kind="timeout_before", delay=1.5, account=self.msisdn(first))
        self.run_cron()
        # By phone: the faulty account (first) comes first.
        doubt, paid = self.payments(cycle)
        self.assertEqual(doubt.partner_id.phone, "07%08d" % first)
        self.assertEqual(doubt.mpesa_state, const.IN_DOUBT)
        self.assertEqual(paid.mpesa_state, const.PAID)
        return doubt, paid

    def test_balance_delta_marks_the_late_applied_deposit_paid(self):
        doubt, _paid = self._in_doubt_then_paid(201)
        self.assertTrue(doubt.mpesa_balance_before_known)
        # The gateway applies the stalled deposit late.
        self.sim.state.apply_deposit(AGENT, 100, self.msisdn(201), "subscriber")
        doubt.with_user(self.finance).action_mpesa_check_balance()
        self.assertEqual(doubt.mpesa_state, const.PAID)
        self.assertEqual(doubt.status, "paid")
        self.assertEqual(doubt.amount_paid, 100)
        self.assertIn("reconciled as PAID", self.chatter_bodies())
        self.assertEqual(self.sim.deposit_count(self.msisdn(201)), 1)

    def test_balance_unchanged_marks_the_deposit_failed(self):
        doubt, _paid = self._in_doubt_then_paid(203)
        # Right after the send the gateway may still apply it: no verdict yet.
        action = doubt.with_user(self.finance).action_mpesa_check_balance()
        self.assertIn("check again", action["params"]["message"])
        self.assertEqual(doubt.mpesa_state, const.IN_DOUBT)
        doubt.mpesa_sent_at = "2000-01-01 00:00:00"
        doubt.with_user(self.finance).action_mpesa_check_balance()
        self.assertEqual(doubt.mpesa_state, const.FAILED)
        self.assertIn("not applied", doubt.mpesa_failure_reason)

    def test_balance_moved_by_something_else_leaves_it_in_doubt(self):
        doubt, _paid = self._in_doubt_then_paid(205)
        self.sim.state.agents[AGENT]["balance"] += 37
        doubt.with_user(self.finance).action_mpesa_check_balance()
        self.assertEqual(doubt.mpesa_state, const.IN_DOUBT)

    def test_unsettled_later_deposit_defers_the_decision_to_an_officer(self):
        cycle = self.phone_cycle(2, amount=100, first=215)
        self.prepare_and_send(cycle)
        self.sim.add_fault(kind="timeout_before", delay=1.5, times=2)
        self.run_cron()
        # The earlier send is the one with a later, unsettled deposit.
        first, second = self.payments(cycle).sorted("mpesa_send_seq")
        self.assertEqual([first.mpesa_state, second.mpesa_state], ["in_doubt"] * 2)
        self.assertLess(first.mpesa_send_seq, second.mpesa_send_seq)
        self.sim.state.apply_deposit(AGENT, 100, first.mpesa_account_no, "subscriber")
        action = first.with_user(self.finance).action_mpesa_check_balance()
        self.assertIn("not settled", action["params"]["message"])
        self.assertEqual(first.mpesa_state, const.IN_DOUBT)

    def test_only_finance_validators_and_admins_reconcile(self):
        doubt, _paid = self._in_doubt_then_paid(207)
        with self.assertRaises(UserError):
            doubt.with_user(self.program_manager).action_mpesa_check_balance()
        with self.assertRaises(UserError):
            doubt.with_user(self.program_manager).action_mpesa_open_reconcile_wizard()
        self.assertEqual(doubt.mpesa_state, const.IN_DOUBT)

    def test_officer_wizard_requires_a_reason_and_records_it(self):
        doubt, _paid = self._in_doubt_then_paid(209)
        Wizard = self.env["g2p.payment.mpesa.reconcile.wizard"].with_user(self.finance)
        wizard = Wizard.create(
            {"payment_ids": [(6, 0, doubt.ids)], "decision": "paid", "reason": "  "}
        )
        with self.assertRaises(UserError):
            wizard.action_apply()
        self.assertEqual(doubt.mpesa_state, const.IN_DOUBT)
        wizard.reason = "Beneficiary confirmed receipt by phone, ref 77"
        wizard.action_apply()
        self.assertEqual(doubt.mpesa_state, const.PAID)
        self.assertEqual(doubt.status, "paid")
        self.assertIn("ref 77", self.chatter_bodies())
        self.assertIn("ref 77", doubt.mpesa_failure_reason or self.chatter_bodies())

    def test_officer_retry_sends_again_exactly_once(self):
        doubt, _paid = self._in_doubt_then_paid(211)
        Wizard = self.env["g2p.payment.mpesa.reconcile.wizard"].with_user(self.finance)
        Wizard.create(
            {
                "payment_ids": [(6, 0, doubt.ids)],
                "decision": "retry",
                "reason": "Agent statement shows no deposit to this number",
            }
        ).action_apply()
        self.assertEqual(doubt.mpesa_state, const.QUEUED)
        self.run_cron()
        self.assertEqual(doubt.mpesa_state, const.PAID)
        self.assertEqual(self.sim.deposit_count(self.msisdn(211)), 1)

    def test_paid_payment_cannot_be_reconciled(self):
        _doubt, paid = self._in_doubt_then_paid(213)
        with self.assertRaises(UserError):
            paid.with_user(self.finance).action_mpesa_check_balance()
