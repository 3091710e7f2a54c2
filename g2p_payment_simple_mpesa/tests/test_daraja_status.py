from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from ..models.daraja_send_store import OdooDarajaStore
from ..mpesa.daraja_answers import DarajaOutcome
from ..mpesa.daraja_send import DarajaItem, decide_for
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
        self.daraja.add_fault(
            "lose_status_result", msisdn=payment.mpesa_account_no, times=None
        )
        for _query in range(const.DARAJA_MAX_STATUS_QUERIES):
            self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
            self.query_overdue(payment)
        self.assertEqual(payment.mpesa_state, const.IN_DOUBT)
        self.assertEqual(payment.daraja_status_queries, const.DARAJA_MAX_STATUS_QUERIES)
        self.assertFalse(payment.daraja_deadline)
        self.assertIn("status queries", payment.mpesa_failure_reason)
        # An officer sends it again: same OCID, so Daraja does not pay twice.
        self.daraja.state.faults.clear()
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
        self.daraja.state.not_found = "sync"  # and says so synchronously
        self.query_overdue(payment)
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertIn("status query refused", payment.mpesa_failure_reason)
        self.assertEqual(payment.daraja_status_queries, 1)
        self.assertGreater(payment.daraja_deadline, fields.Datetime.now())

    def test_rate_limited_status_queries_do_not_count_towards_in_doubt(self):
        payment = self.send_cycle(1)
        self.daraja.take_callbacks()  # the result is lost
        self.daraja.state.rate_burst(3600, token=False)
        for _query in range(const.DARAJA_MAX_STATUS_QUERIES + 2):
            self.query_overdue(payment)
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertEqual(payment.daraja_status_queries, 0)
        self.assertIn("rate-limited", payment.mpesa_failure_reason)
        self.assertGreater(payment.daraja_deadline, fields.Datetime.now())
        # Daraja answers again: the query's result settles it.
        self.daraja.state.burst_until = 0.0
        self.query_overdue(payment)
        self.assertEqual(payment.daraja_status_queries, 1)
        self.deliver_callbacks()
        self.assert_paid_once(payment)

    def test_queue_timeout_that_overtakes_the_acceptance_keeps_its_query_due(self):
        self.daraja.add_fault("queue_timeout")
        payment = self.send_cycle(1)
        [(url, body)] = self.daraja.take_callbacks()
        # The race replayed: the request in flight, its QueueTimeOut posted
        # before the sender records Daraja's acceptance answer.
        payment.write({"mpesa_state": const.QUEUED})
        store = OdooDarajaStore(self.manager.sudo())
        item = DarajaItem(
            payment.id, payment.daraja_ocid, 1500, payment.mpesa_account_no, "G2P"
        )
        self.assertTrue(store.begin_send(item))
        self.assertFalse(payment.daraja_deadline)
        response = self.post_callback(url.rsplit("/", 1)[1], body)
        self.assertEqual(response.json()["ResultDesc"], "Accepted")
        accepted = DarajaOutcome(const.OK, 200, "Accepted", 5.0, True)
        item.attempts = 1
        store.record_result(item, accepted, decide_for(accepted, item))
        store.flush()
        self.env.invalidate_all()
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertLessEqual(payment.daraja_deadline, fields.Datetime.now())
        self.assertIn("Transaction Status", payment.mpesa_failure_reason)
        self.query_overdue(payment)
        self.assertEqual(payment.daraja_status_queries, 1)
        self.deliver_callbacks()
        self.assert_paid_once(payment)

    def test_late_paid_result_of_a_payment_marked_failed_warns_loudly(self):
        payment = self.send_cycle(1)
        [(_url, body)] = self.daraja.take_callbacks()
        payment.write({"mpesa_state": const.FAILED})
        response = self.post_callback("result", body)
        self.assertEqual(response.json()["ResultDesc"], "Already recorded")
        self.assertEqual(payment.mpesa_state, const.FAILED)
        self.assertIn("Do not pay this beneficiary again", self.chatter_bodies())
