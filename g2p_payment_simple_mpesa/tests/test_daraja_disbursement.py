from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common_daraja import DarajaCase, const


@tagged("post_install", "-at_install")
class TestDarajaDisbursement(DarajaCase):
    def test_payments_accepted_with_fixed_ocids_then_paid_by_result_callbacks(self):
        payments = self.send_cycle(3)
        self.assertEqual(set(payments.mapped("mpesa_state")), {const.DARAJA_ACCEPTED})
        ocids = payments.mapped("daraja_ocid")
        self.assertEqual(len(set(ocids)), 3)
        self.assertTrue(all(p.daraja_deadline for p in payments))
        self.assertTrue(all(p.daraja_conversation_id for p in payments))
        acks = self.deliver_callbacks()
        self.assertEqual({r.json()["ResultDesc"] for r in acks}, {"Accepted"})
        self.assertEqual(payments.mapped("daraja_ocid"), ocids)
        self.assertTrue(all(p.daraja_receipt for p in payments))
        self.assertEqual(set(payments.mapped("status")), {"paid"})
        self.assertEqual(set(payments.mapped("amount_paid")), {1500})
        self.assertFalse(any(p.daraja_deadline for p in payments))
        self.assertTrue(payments.batch_id.batch_has_completed)
        self.assert_paid_once(payments)

    def test_failed_result_keeps_the_daraja_reason(self):
        self.daraja.add_fault("result_code", code=2040, msisdn=self.msisdn(2))
        payments = self.send_cycle(2)
        self.deliver_callbacks()
        ok, failed = payments.sorted(lambda p: p.partner_id.phone)
        self.assertEqual(ok.mpesa_state, const.PAID)
        self.assertEqual(failed.mpesa_state, const.FAILED)
        self.assertEqual(failed.status, "failed")
        self.assertEqual(failed.daraja_result_code, "2040")
        self.assertIn("not a registered M-Pesa customer", failed.mpesa_failure_reason)
        self.assertFalse(failed.daraja_receipt)

    def test_queue_timeout_is_unknown_until_a_status_query_settles_it(self):
        self.daraja.add_fault("queue_timeout")
        payment = self.send_cycle(1)
        self.deliver_callbacks()
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertLessEqual(payment.daraja_deadline, fields.Datetime.now())
        self.assertIn("Transaction Status", payment.mpesa_failure_reason)
        Manager = self.env["g2p.program.payment.manager.simple.mpesa"]
        Manager._cron_daraja_status_queries()
        self.env.invalidate_all()
        self.assertEqual(self.daraja.status_queries, 1)
        self.assertEqual(payment.daraja_status_queries, 1)
        self.assertGreater(payment.daraja_deadline, fields.Datetime.now())
        self.deliver_callbacks()
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assertTrue(payment.daraja_receipt)
        self.assert_paid_once(payment)

    def test_payment_without_any_callback_is_queried_after_its_deadline(self):
        self.daraja.add_fault("lose_callback")
        payment = self.send_cycle(1)
        Manager = self.env["g2p.program.payment.manager.simple.mpesa"]
        Manager._cron_daraja_status_queries()
        self.assertEqual(self.daraja.status_queries, 0)  # not overdue yet
        payment.daraja_deadline = fields.Datetime.now() - timedelta(seconds=1)
        Manager._cron_daraja_status_queries()
        self.deliver_callbacks()
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assert_paid_once(payment)

    def test_repeated_and_late_callbacks_change_nothing(self):
        self.daraja.add_fault("duplicate_callback")
        payment = self.send_cycle(1)
        [(url, body)] = self.daraja.outbox[:1]
        acks = self.deliver_callbacks()
        self.assertEqual(
            [r.json()["ResultDesc"] for r in acks], ["Accepted", "Already recorded"]
        )
        receipt, written = payment.daraja_receipt, payment.write_date
        late_failure = {"Result": dict(body["Result"], ResultCode=1)}
        late_failure["Result"].pop("ResultParameters")
        response = self.post_callback("result", late_failure)
        self.assertEqual(response.json()["ResultDesc"], "Already recorded")
        timeout = self.post_callback("timeout", body)
        self.assertEqual(timeout.status_code, 200)
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assertEqual(payment.daraja_receipt, receipt)
        self.assertEqual(payment.write_date, written)
        self.assertTrue(url.endswith("/result"))

    def test_wrong_secret_or_invalid_body_is_refused_and_changes_nothing(self):
        payment = self.send_cycle(1)
        [(_url, body)] = self.daraja.take_callbacks()
        refused = self.post_callback("result", body, secret="not-the-secret")
        self.assertEqual(refused.status_code, 404)
        invalid = self.post_callback("result", {"Result": {"ResultCode": 0}})
        self.assertEqual(invalid.status_code, 400)
        self.assertIn("OriginatorConversationID", invalid.json()["detail"])
        other = dict(body["Result"], OriginatorConversationID="G2P-unknown")
        unknown = self.post_callback("result", {"Result": other})
        self.assertEqual(unknown.status_code, 404)
        bad_kind = self.post_callback("other", body)
        self.assertEqual(bad_kind.status_code, 422)
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertFalse(payment.daraja_receipt)
        self.assertEqual(self.post_callback("result", body).status_code, 200)
        self.assertEqual(payment.mpesa_state, const.PAID)

    def test_timeout_is_retried_with_the_same_ocid_and_paid_once(self):
        self.daraja.add_fault("timeout_after", delay=1.5)
        payment = self.send_cycle(1)
        self.assertEqual(payment.mpesa_state, const.QUEUED)
        ocid = payment.daraja_ocid
        self.assertTrue(ocid)
        self.assertEqual(payment.mpesa_attempt_ids.outcome_kind, const.AMBIGUOUS)
        payment.mpesa_next_attempt_at = fields.Datetime.now() - timedelta(seconds=1)
        self.run_cron()
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertEqual(payment.daraja_ocid, ocid)
        self.assertEqual(self.daraja.duplicates, 1)
        self.assertEqual(len(payment.mpesa_attempt_ids), 2)
        self.deliver_callbacks()
        self.assert_paid_once(payment)

    def test_rate_limited_sends_slow_down_and_all_recover(self):
        self.daraja.state.spike_limit = 3
        self.daraja.state.spike_window = 0.3
        payments = self.send_cycle(12, amount=100)
        self.assertGreater(self.daraja.rate_limited, 0)
        self.assertEqual(set(payments.mapped("mpesa_state")), {const.DARAJA_ACCEPTED})
        self.assertIn("rate-limited", self.chatter_bodies())
        self.deliver_callbacks()
        self.assert_paid_once(payments)

    def test_run_started_in_a_spike_arrest_waits_and_sends_everyone(self):
        self.daraja.state.rate_burst(0.4)  # the token endpoint included
        payments = self.send_cycle(3, amount=100)
        self.assertGreater(self.daraja.rate_limited, 0)
        self.assertEqual(set(payments.mapped("mpesa_state")), {const.DARAJA_ACCEPTED})
        self.assertFalse(self.manager.mpesa_last_error)
        self.assertNotIn("disbursement stopped", self.chatter_bodies())
        self.deliver_callbacks()
        self.assert_paid_once(payments)

    def test_stale_sending_payment_is_sent_again_with_its_ocid(self):
        self.daraja.add_fault("lose_callback")
        payment = self.send_cycle(1)
        ocid = payment.daraja_ocid
        # As if a worker died between its request and recording the answer.
        payment.write({"mpesa_state": const.SENDING})
        payment.batch_id.mpesa_due = True
        self.run_cron()
        self.assertEqual(payment.mpesa_state, const.DARAJA_ACCEPTED)
        self.assertEqual(payment.daraja_ocid, ocid)
        self.assertEqual(self.daraja.duplicates, 1)
        self.assertEqual(self.daraja.ledger(), {payment.mpesa_account_no: 1})

    def test_wrong_consumer_secret_stops_the_run_and_keeps_payments_queued(self):
        self.manager.daraja_consumer_secret = "rotated"
        payments = self.send_cycle(2)
        self.assertEqual(set(payments.mapped("mpesa_state")), {const.QUEUED})
        self.assertIn("consumer key and secret", self.manager.mpesa_last_error)
        self.assertNotIn("rotated", self.manager.mpesa_last_error)
        self.assertEqual(self.daraja.ledger(), {})
