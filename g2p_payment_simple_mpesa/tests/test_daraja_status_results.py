"""Transaction Status results as Daraja sends them, through the callback router."""

import json
from datetime import timedelta
from pathlib import Path

from odoo import fields
from odoo.tests import tagged

from .common_daraja import DarajaCase, const

# Safaricom's published samples (tests/pure/fixtures/daraja, see its README).
FIXTURES = (
    Path(__file__).resolve().parents[2] / "tests" / "pure" / "fixtures" / "daraja"
)


def sample(name):
    return json.loads((FIXTURES / name).read_text())


@tagged("post_install", "-at_install")
class TestDarajaStatusResults(DarajaCase):
    def query_overdue(self, payment):
        payment.daraja_deadline = fields.Datetime.now() - timedelta(seconds=1)
        self.manager._cron_daraja_status_queries()
        self.env.invalidate_all()

    def lost_result(self, amount=1500, **fault):
        """A payment Daraja accepted whose result callback is lost."""
        self.daraja.add_fault(fault.pop("kind", "lose_callback"), **fault)
        payment = self.send_cycle(1, amount=amount)
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertEqual(self.daraja.take_callbacks(), [])
        return payment

    def test_lost_result_is_settled_by_the_status_query_with_its_receipt(self):
        payment = self.lost_result()
        self.query_overdue(payment)
        self.assertTrue(payment.daraja_query_ocid)
        self.assertNotEqual(payment.daraja_query_ocid, payment.daraja_ocid)
        [response] = self.deliver_callbacks()
        self.assertEqual(response.json()["ResultDesc"], "Accepted")
        self.assert_paid_once(payment)
        self.assertEqual(payment.daraja_settled_by, "status")
        self.assertTrue(payment.daraja_receipt)
        self.assertIn("Transaction Status query settled it", payment.mpesa_next_action)

    def test_reversed_payment_is_not_paid_and_says_what_to_do(self):
        payment = self.lost_result(kind="reverse")
        self.query_overdue(payment)
        self.deliver_callbacks()
        self.assertEqual(payment.mpesa_state, const.FAILED)
        self.assertTrue(payment.daraja_reversed)
        self.assertNotEqual(payment.status, "paid")
        self.assertEqual(payment.mpesa_status_title, "Reversed")
        self.assertIn("was NOT paid", payment.mpesa_next_action)
        # Prepare Payments pays the beneficiary again with a new payment.
        cycle = payment.cycle_id
        self.prepare_and_send(cycle)
        self.run_cron()
        self.deliver_callbacks()
        new = self.payments(cycle) - payment
        self.assertEqual(new.mpesa_state, const.PAID)
        self.assertNotEqual(new.daraja_ocid, payment.daraja_ocid)

    def test_pending_status_asks_again_later(self):
        payment = self.lost_result()
        self.daraja.add_fault(
            "status_pending", msisdn=payment.mpesa_account_no, times=1
        )
        self.query_overdue(payment)
        self.deliver_callbacks()
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertIn("not final yet", payment.mpesa_failure_reason)
        self.query_overdue(payment)
        self.deliver_callbacks()
        self.assert_paid_once(payment)

    def test_no_such_transaction_after_the_window_is_sent_again_with_the_same_ocid(
        self,
    ):
        payment = self.lost_result()
        ocid = payment.daraja_ocid
        self.daraja.state.transactions.clear()  # M-Pesa never took it
        self.daraja.state.deposit_counts.clear()
        payment.mpesa_sent_at = fields.Datetime.now() - timedelta(hours=1)
        self.query_overdue(payment)
        self.deliver_callbacks()
        self.assertEqual(payment.mpesa_state, const.QUEUED)
        self.assertIn("never took the request", payment.mpesa_failure_reason)
        self.assertEqual(payment.daraja_resends, 1)
        self.run_cron()
        self.deliver_callbacks()
        self.assertEqual(payment.daraja_ocid, ocid)
        self.assert_paid_once(payment)

    def test_no_such_transaction_within_the_window_waits(self):
        payment = self.lost_result()
        self.daraja.state.transactions.clear()
        self.query_overdue(payment)
        self.deliver_callbacks()
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertGreater(payment.daraja_deadline, fields.Datetime.now())
        self.assertEqual(payment.daraja_resends, 0)

    def test_a_status_result_is_never_matched_by_its_top_ids_alone(self):
        payment = self.lost_result()
        body = sample("transaction_status_completed.json")
        body["Result"]["OriginatorConversationID"] = payment.daraja_ocid
        params = body["Result"]["ResultParameters"]["ResultParameter"]
        body["Result"]["ResultParameters"]["ResultParameter"] = [
            p for p in params if "Conversation" not in p["Key"]
        ]
        response = self.post_callback("status", body)
        self.assertEqual(response.status_code, 404)
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertEqual(self.manager.daraja_refused_callbacks, 1)

    def test_safaricom_status_samples_pass_through_the_router(self):
        for name in (
            "transaction_status_completed.json",
            "transaction_status_completed_spaced_keys.json",
        ):
            with self.subTest(sample=name):
                payment = self.lost_result(amount=300)
                payment.daraja_ocid = "3211-416020-3"
                response = self.post_callback("status", sample(name))
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(payment.mpesa_state, const.PAID)
                self.assertEqual(payment.daraja_receipt, "MBN31H462N")
                self.assertEqual(payment.amount_paid, 300)
                payment.daraja_ocid = "done-%s" % payment.id  # next sample's turn

    def test_safaricom_b2c_samples_pass_through_the_router(self):
        paid = self.lost_result(amount=10)
        paid.daraja_ocid = "10571-7910404-1"
        self.assertEqual(
            self.post_callback("result", sample("b2c_result_success.json")).status_code,
            200,
        )
        self.assertEqual(
            (paid.mpesa_state, paid.daraja_receipt), ("paid", "NLJ41HAY6Q")
        )
        failed = self.lost_result()
        failed.daraja_ocid = "29112-34801843-1"
        self.post_callback("result", sample("b2c_result_failure.json"))
        self.assertEqual(failed.mpesa_state, const.FAILED)
        self.assertIn("2001", failed.mpesa_failure_reason)
        timed_out = self.lost_result()
        timed_out.daraja_ocid = "10571-7910404-1-t"
        body = sample("b2c_queue_timeout.json")
        body["Result"]["OriginatorConversationID"] = timed_out.daraja_ocid
        self.assertEqual(self.post_callback("timeout", body).status_code, 200)
        self.assertEqual(timed_out.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertLessEqual(timed_out.daraja_deadline, fields.Datetime.now())


@tagged("post_install", "-at_install")
class TestDarajaCallbackGuard(DarajaCase):
    def test_callbacks_from_outside_the_allow_list_are_refused_and_counted(self):
        payment = self.send_cycle(1)
        [(_url, body)] = self.daraja.take_callbacks()
        self.manager.daraja_callback_allowlist = "196.201.214.0/24"
        response = self.post_callback("result", body)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertEqual(self.manager.daraja_refused_callbacks, 1)
        self.assertIn("403", self.manager.daraja_last_refused)
        self.manager.daraja_callback_allowlist = False
        self.assertEqual(self.post_callback("result", body).status_code, 200)
        self.assert_paid_once(payment)

    def test_an_oversized_body_is_refused(self):
        payment = self.send_cycle(1)
        [(_url, body)] = self.daraja.take_callbacks()
        body["Result"]["Padding"] = "x" * (70 * 1024)
        response = self.post_callback("result", body)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertEqual(self.manager.daraja_refused_callbacks, 1)

    def test_a_bad_allow_list_entry_is_named_on_save(self):
        with self.assertRaisesRegex(Exception, "196.201.999.1"):
            self.manager.daraja_callback_allowlist = "196.201.999.1"
