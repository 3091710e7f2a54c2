from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common_daraja import DarajaCase, const


@tagged("post_install", "-at_install")
class TestDarajaStatusQueries(DarajaCase):
    def query_overdue(self, payment):
        payment.daraja_deadline = fields.Datetime.now() - timedelta(seconds=1)
        self.env[
            "g2p.program.payment.manager.simple.mpesa"
        ]._cron_daraja_status_queries()
        self.env.invalidate_all()

    def test_unanswered_status_queries_end_in_doubt_and_send_again_pays_once(self):
        self.daraja.add_fault("lose_callback")
        payment = self.send_cycle(1)
        ocid = payment.daraja_ocid
        self.daraja.state.loss = 1.0  # the status results are lost as well
        for _query in range(const.DARAJA_MAX_STATUS_QUERIES):
            self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
            self.query_overdue(payment)
        self.assertEqual(payment.mpesa_state, const.IN_DOUBT)
        self.assertEqual(payment.daraja_status_queries, const.DARAJA_MAX_STATUS_QUERIES)
        self.assertFalse(payment.daraja_deadline)
        self.assertIn("status queries", payment.mpesa_failure_reason)
        # An officer sends it again: same OCID, so Daraja does not pay twice.
        self.daraja.state.loss = 0.0
        finance = new_test_user(
            self.env,
            login="daraja_finance",
            groups="base.group_user,g2p_programs.g2p_finance_validator",
        )
        self.env["g2p.payment.mpesa.reconcile.wizard"].with_user(finance).create(
            {
                "payment_ids": [(6, 0, payment.ids)],
                "decision": "retry",
                "reason": "Not visible in the M-Pesa portal yet",
            }
        ).action_apply()
        self.run_cron()
        self.assertEqual(payment.daraja_ocid, ocid)
        self.assertEqual(self.daraja.duplicates, 1)  # no new result for it
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertEqual(payment.daraja_status_queries, 0)
        self.query_overdue(payment)
        self.deliver_callbacks()
        self.assert_paid_once(payment)

    def test_refused_status_query_keeps_the_reason_and_asks_again_later(self):
        payment = self.send_cycle(1)
        self.daraja.take_callbacks()
        self.daraja.state.transactions.clear()  # Daraja does not know the OCID
        self.query_overdue(payment)
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertIn("status query refused", payment.mpesa_failure_reason)
        self.assertEqual(payment.daraja_status_queries, 1)
        self.assertGreater(payment.daraja_deadline, fields.Datetime.now())

    def test_late_paid_result_of_a_payment_marked_failed_warns_loudly(self):
        payment = self.send_cycle(1)
        [(_url, body)] = self.daraja.take_callbacks()
        payment.write({"mpesa_state": const.FAILED})
        response = self.post_callback("result", body)
        self.assertEqual(response.json()["ResultDesc"], "Already recorded")
        self.assertEqual(payment.mpesa_state, const.FAILED)
        self.assertIn("Do not pay this beneficiary again", self.chatter_bodies())
