from odoo.tests import tagged

from .common import AGENT, MpesaCase, const


@tagged("post_install", "-at_install")
class TestMpesaFaults(MpesaCase):
    """Each gateway fault ends in the right state, and nobody is ever paid twice."""

    def _one_payment_with_fault(self, first, **fault):
        cycle = self.phone_cycle(1, first=first)
        self.prepare_and_send(cycle)
        self.sim.add_fault(account=self.msisdn(first), **fault)
        self.run_cron()
        return cycle, self.payments(cycle)

    def _rerun_without_faults(self):
        self.sim.clear_faults()
        self.env["g2p.payment"].search([("mpesa_state", "=", const.QUEUED)]).write(
            {"mpesa_next_attempt_at": "2000-01-01 00:00:00"}
        )
        self.run_cron()
        self.assert_nobody_paid_twice()

    def test_unexplained_5xx_without_debit_is_in_doubt_and_never_resent(self):
        _cycle, payment = self._one_payment_with_fault(101, kind="status", status=500)
        self.assertEqual(payment.mpesa_state, const.IN_DOUBT)
        self.assertEqual(payment.mpesa_attempt_ids.http_status, 500)
        self.assertEqual(payment.mpesa_attempt_ids.outcome_kind, const.AMBIGUOUS)
        self.assertFalse(payment.status)
        self._rerun_without_faults()
        self.assertEqual(payment.mpesa_state, const.IN_DOUBT)
        self.assertEqual(self.sim.deposit_count(self.msisdn(101)), 0)

    def test_unexplained_5xx_after_debit_is_settled_paid_by_the_balance(self):
        _cycle, payment = self._one_payment_with_fault(
            102, kind="status", status=500, apply=True
        )
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assertEqual(payment.status, "paid")
        self._rerun_without_faults()
        self.assertEqual(self.sim.deposit_count(self.msisdn(102)), 1)

    def test_throttled_429_is_retried_later_and_paid_once(self):
        _cycle, payment = self._one_payment_with_fault(103, kind="status", status=429)
        self.assertEqual(payment.mpesa_state, const.QUEUED)
        self.assertTrue(payment.mpesa_next_attempt_at)
        self.assertIn("rate limited", payment.mpesa_failure_reason)
        self.assertEqual(self.sim.deposit_count(self.msisdn(103)), 0)
        # Not due yet: an immediate run does not send it.
        self.run_cron()
        self.assertEqual(payment.mpesa_attempt_count, 1)
        self._rerun_without_faults()
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assertEqual(payment.mpesa_attempt_count, 2)
        self.assertEqual(self.sim.deposit_count(self.msisdn(103)), 1)

    def test_retryable_errors_give_up_after_max_attempts(self):
        self.manager.mpesa_max_attempts = 2
        cycle = self.phone_cycle(1, first=104)
        self.prepare_and_send(cycle)
        self.sim.add_fault(kind="status", status=503, times=None)
        payment = self.payments(cycle)
        for _i in range(2):
            payment.mpesa_next_attempt_at = "2000-01-01 00:00:00"
            self.run_cron()
        self.assertEqual(payment.mpesa_state, const.FAILED)
        self.assertIn("gave up after 2 attempts", payment.mpesa_failure_reason)
        self.assertEqual(self.sim.deposit_counts(), {})

    def test_timeout_before_applying_is_in_doubt_and_never_resent(self):
        _cycle, payment = self._one_payment_with_fault(
            105, kind="timeout_before", delay=1.5
        )
        self.assertEqual(payment.mpesa_state, const.IN_DOUBT)
        self.assertEqual(payment.state, "sent")
        self.assertIn("in doubt", self.chatter_bodies())
        self._rerun_without_faults()
        self.assertEqual(payment.mpesa_state, const.IN_DOUBT)
        self.assertEqual(self.sim.deposit_count(self.msisdn(105)), 0)

    def test_timeout_after_applying_is_settled_paid_and_paid_once(self):
        _cycle, payment = self._one_payment_with_fault(
            106, kind="timeout_after", delay=1.5
        )
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assertEqual(payment.mpesa_attempt_ids.outcome_kind, const.AMBIGUOUS)
        self._rerun_without_faults()
        self.assertEqual(self.sim.deposit_count(self.msisdn(106)), 1)

    def test_dropped_connection_after_applying_is_paid_once(self):
        _cycle, payment = self._one_payment_with_fault(107, kind="drop_after")
        self.assertEqual(payment.mpesa_state, const.PAID)
        self._rerun_without_faults()
        self.assertEqual(self.sim.deposit_count(self.msisdn(107)), 1)

    def test_expired_token_logs_in_again_and_pays_once(self):
        _cycle, payment = self._one_payment_with_fault(108, kind="token_expiry")
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assertEqual(self.sim.deposit_count(self.msisdn(108)), 1)

    def test_business_error_fails_with_the_gateway_reason(self):
        cycle = self.phone_cycle(2, first=109)
        self.prepare_and_send(cycle)
        self.sim.add_customer(self.msisdn(109))
        self.sim.freeze(self.msisdn(109))
        self.run_cron()
        # By phone: the frozen account (109) comes first.
        frozen, ok = self.payments(cycle)
        self.assertEqual(frozen.mpesa_state, const.FAILED)
        self.assertEqual(frozen.status, "failed")
        self.assertIn("frozen", frozen.mpesa_failure_reason)
        self.assertEqual(ok.mpesa_state, const.PAID)
        self._rerun_without_faults()
        self.assertEqual(frozen.mpesa_state, const.FAILED)

    def test_insufficient_agent_balance_fails_the_payments_it_cannot_cover(self):
        self.sim.state.agents[AGENT]["balance"] = 150
        cycle = self.phone_cycle(2, amount=100, first=111)
        self.prepare_and_send(cycle)
        self.run_cron()
        # Whichever is sent first is covered; the other one is not.
        payments = self.payments(cycle)
        paid = payments.filtered(lambda p: p.mpesa_state == const.PAID)
        refused = payments - paid
        self.assertEqual(len(paid), 1)
        self.assertEqual(refused.mpesa_state, const.FAILED)
        self.assertIn("balance not enough", refused.mpesa_failure_reason)
        self.assertEqual(self.sim.balance_of(AGENT), 50)
        self._rerun_without_faults()
        self.assertEqual(self.sim.deposit_counts(), {paid.mpesa_account_no: 1})
