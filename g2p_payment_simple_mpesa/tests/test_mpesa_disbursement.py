from odoo.tests import tagged

from ..mpesa.const import AGENT_LOCK_NAMESPACE
from ..mpesa.errors import PayeeError
from .common import MpesaCase, const


@tagged("post_install", "-at_install")
class TestMpesaDisbursement(MpesaCase):
    def test_send_button_only_queues_and_the_cron_pays_everyone_once(self):
        cycle = self.phone_cycle(4, amount=150)
        action = self.prepare_and_send(cycle)
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        # The button never talks to the gateway: no request before the cron.
        self.assertEqual(self.sim.requests, 0)
        self.assertEqual(set(self.states(cycle)), {const.QUEUED})
        batch = cycle.payment_batch_ids
        self.assertTrue(batch.mpesa_due)
        self.assertEqual(batch.mpesa_dispatch_state, "due")

        self.run_cron()

        payments = self.payments(cycle)
        self.assertEqual(payments.mapped("mpesa_state"), [const.PAID] * 4)
        self.assertEqual(payments.mapped("status"), ["paid"] * 4)
        self.assertEqual(payments.mapped("state"), ["sent"] * 4)
        self.assertEqual(payments.mapped("amount_paid"), [150.0] * 4)
        self.assertTrue(all(payments.mapped("payment_datetime")))
        self.assertEqual(
            self.sim.deposit_counts(), {self.msisdn(i): 1 for i in range(1, 5)}
        )
        self.assertEqual(self.sim.balance_of("agent@example.com"), 1_000_000 - 600)
        self.assertTrue(batch.batch_has_started)
        self.assertTrue(batch.batch_has_completed)
        self.assertEqual(batch.mpesa_dispatch_state, "done")
        self.assertEqual(batch.stats_paid_transactions, 4)
        self.assertEqual(self.manager.mpesa_expected_balance, 1_000_000 - 600)
        attempt = payments[0].mpesa_attempt_ids
        self.assertEqual(len(attempt), 1)
        self.assertEqual(attempt.http_status, 200)
        self.assertEqual(attempt.outcome_kind, const.OK)

        # A second run (and a second click) never pays again.
        cycle.send_payment()
        self.run_cron()
        self.assert_nobody_paid_twice()
        self.assertEqual(sum(self.sim.deposit_counts().values()), 4)

    def test_cron_run_is_bounded_and_retriggers_itself(self):
        self.manager.mpesa_payments_per_run = 2
        cycle = self.phone_cycle(5, first=20)
        self.prepare_and_send(cycle)
        cron = self.env.ref("g2p_payment_simple_mpesa.ir_cron_mpesa_disburse")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.run_cron()
        self.assertEqual(self.states(cycle).count(const.PAID), 2)
        new_triggers = (
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers
        )
        self.assertTrue(
            new_triggers, "the cron must re-trigger itself while work remains"
        )
        self.run_cron()
        self.run_cron()
        self.assertEqual(self.states(cycle), [const.PAID] * 5)
        self.assert_nobody_paid_twice()

    def test_exhausted_time_budget_stops_the_run_and_retriggers(self):
        cycle = self.phone_cycle(3, first=25)
        self.prepare_and_send(cycle)
        cron = self.env.ref("g2p_payment_simple_mpesa.ir_cron_mpesa_disburse")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", cron.id)])
        Manager = self.env["g2p.program.payment.manager.simple.mpesa"]
        Manager.with_context(mpesa_time_budget=1e-9)._cron_disburse_due_batches()
        self.assertEqual(self.sim.requests, 0)
        self.assertTrue(Trigger.search([("cron_id", "=", cron.id)]) - before)
        self.run_cron()
        self.assertEqual(self.states(cycle), [const.PAID] * 3)

    def test_auto_disburse_makes_prepared_batches_due(self):
        self.manager.mpesa_auto_disburse = True
        cycle = self.phone_cycle(2, first=30)
        cycle.prepare_payment()
        self.assertTrue(cycle.payment_batch_ids.mpesa_due)
        self.run_cron()
        self.assertEqual(self.states(cycle), [const.PAID] * 2)

    def test_prepared_but_not_sent_batches_are_left_alone(self):
        cycle = self.phone_cycle(2, first=40)
        cycle.prepare_payment()
        self.run_cron()
        self.assertEqual(self.sim.requests, 0)
        self.assertEqual(self.states(cycle), [const.QUEUED] * 2)
        self.assertEqual(cycle.payment_batch_ids.mpesa_dispatch_state, "draft")

    def test_missing_payee_fails_only_that_payment(self):
        cycle = self.make_cycle(
            [
                ({"name": "Has phone A", "phone": "0711000001"}, 100),
                ({"name": "No phone at all"}, 100),
                ({"name": "Has phone B", "phone": "+254 711 000 002"}, 100),
            ]
        )
        self.prepare_and_send(cycle)
        self.run_cron()
        payments = self.payments(cycle)
        by_name = {p.partner_id.name: p for p in payments}
        self.assertEqual(by_name["Has phone A"].mpesa_state, const.PAID)
        self.assertEqual(by_name["Has phone B"].mpesa_state, const.PAID)
        failed = by_name["No phone at all"]
        self.assertEqual(failed.mpesa_state, const.FAILED)
        self.assertEqual(failed.status, "failed")
        self.assertIn("No phone at all", failed.mpesa_failure_reason)
        self.assertIn("phone", failed.mpesa_failure_reason)
        self.assertFalse(failed.mpesa_attempt_ids.request_sent)
        self.assertEqual(
            self.sim.deposit_counts(), {"254711000001": 1, "254711000002": 1}
        )
        self.assertEqual(
            cycle.payment_batch_ids.mpesa_dispatch_state, "needs_attention"
        )

    def test_non_whole_amount_fails_with_reason_and_is_never_truncated(self):
        cycle = self.make_cycle(
            [
                ({"name": "Fraction", "phone": "0711000011"}, 100.5),
                ({"name": "Whole", "phone": "0711000012"}, 100.0),
            ]
        )
        self.prepare_and_send(cycle)
        self.run_cron()
        by_name = {p.partner_id.name: p for p in self.payments(cycle)}
        fraction = by_name["Fraction"]
        self.assertEqual(fraction.mpesa_state, const.FAILED)
        self.assertIn("100.5", fraction.mpesa_failure_reason)
        self.assertIn("whole", fraction.mpesa_failure_reason)
        self.assertFalse(fraction.amount_paid)
        self.assertEqual(by_name["Whole"].mpesa_state, const.PAID)
        self.assertEqual(self.sim.deposit_counts(), {"254711000012": 1})

    def test_every_payee_id_type_resolves_the_right_account(self):
        id_type = self.env["g2p.id.type"].create({"name": "Mpesa wallet"})
        other_type = self.env["g2p.id.type"].create({"name": "National ID"})
        partner = self.env["res.partner"].create(
            {
                "name": "Many ids",
                "is_registrant": True,
                "phone": "0722 000 123",
                "email": "Payee@Example.COM",
                # OpenG2P computes the IBAN from the bank and the account
                # number; the stand-in stores the written one: both agree.
                "bank_ids": [
                    (
                        0,
                        0,
                        {
                            "acc_number": "0532013000",
                            "bank_id": self.german_bank("37040044").id,
                            "iban": "DE89370400440532013000",
                        },
                    )
                ],
                "reg_ids": [
                    (0, 0, {"id_type": other_type.id, "value": "NAT-1"}),
                    (0, 0, {"id_type": id_type.id, "value": "WAL-9"}),
                ],
            }
        )
        payment = self.lone_payment(partner, "Payee types")
        expected = {
            "phone": "254722000123",
            "email": "Payee@example.com",
            "bank_acc_no": "0532013000",
            "bank_acc_iban": "DE89370400440532013000",
            "reg_id": "WAL-9",
        }
        self.manager.reg_id_type_for_payee_id = id_type
        for kind, account in expected.items():
            self.manager.payee_id_type = kind
            self.assertEqual(self.manager._mpesa_payee_account(payment), account, kind)

    def german_bank(self, bic):
        return self.env["res.bank"].create(
            {
                "name": "Bank %s" % bic,
                "bic": bic,
                "country": self.env.ref("base.de").id,
            }
        )

    def lone_payment(self, partner, cycle_name):
        cycle = self.make_empty_cycle(cycle_name)
        entitlement = self.env["g2p.entitlement"].create(
            {
                "partner_id": partner.id,
                "cycle_id": cycle.id,
                "initial_amount": 50,
                "state": "approved",
            }
        )
        return self.env["g2p.payment"].create(
            {
                "name": "Lone payment %s" % cycle_name,
                "entitlement_id": entitlement.id,
                "cycle_id": cycle.id,
                "amount_issued": 50,
            }
        )

    def test_bank_data_without_a_valid_iban_is_a_payee_error_with_the_reason(self):
        # Eleven digits do not fit a German account number: OpenG2P's IBAN
        # computation raises; the stand-in simply has no IBAN.
        partner = self.env["res.partner"].create(
            {
                "name": "Broken bank",
                "is_registrant": True,
                "bank_ids": [
                    (
                        0,
                        0,
                        {
                            "acc_number": "12345678901",
                            "bank_id": self.german_bank("37040044").id,
                        },
                    )
                ],
            }
        )
        payment = self.lone_payment(partner, "Broken IBAN")
        self.manager.payee_id_type = "bank_acc_iban"
        computed = bool(self.env["res.partner.bank"]._fields["iban"].compute)
        with self.assertRaises(PayeeError) as caught:
            self.manager._mpesa_payee_account(payment)
        message = str(caught.exception)
        self.assertIn("Broken bank", message)
        if computed:
            self.assertIn("12345678901", message)
            self.assertIn("no IBAN can be formed", message)
        else:
            self.assertIn("has no bank account with an IBAN", message)

    def test_bad_bank_data_fails_only_that_payment_in_the_cron(self):
        self.manager.payee_id_type = "bank_acc_iban"
        bank = self.german_bank("37040044")
        cycle = self.make_cycle(
            [
                (
                    {
                        "name": "Good iban",
                        "bank_ids": [
                            (
                                0,
                                0,
                                {
                                    "acc_number": "0532013000",
                                    "bank_id": bank.id,
                                    "iban": "DE89370400440532013000",
                                },
                            )
                        ],
                    },
                    100,
                ),
                (
                    {
                        "name": "Bad iban",
                        "bank_ids": [
                            (0, 0, {"acc_number": "12345678901", "bank_id": bank.id})
                        ],
                    },
                    100,
                ),
            ]
        )
        self.prepare_and_send(cycle)
        self.run_cron()
        by_name = {p.partner_id.name: p for p in self.payments(cycle)}
        self.assertEqual(by_name["Good iban"].mpesa_state, const.PAID)
        self.assertEqual(by_name["Bad iban"].mpesa_state, const.FAILED)
        self.assertIn("Bad iban", by_name["Bad iban"].mpesa_failure_reason)
        self.assertEqual(self.sim.deposit_counts(), {"DE89370400440532013000": 1})

    def test_refused_login_keeps_batch_queued_and_reports_once(self):
        self.manager.password = "wrong"
        cycle = self.phone_cycle(2, first=50)
        self.prepare_and_send(cycle)
        self.run_cron()
        self.run_cron()
        batch = cycle.payment_batch_ids
        self.assertEqual(self.states(cycle), [const.QUEUED] * 2)
        self.assertFalse(batch.batch_has_started)
        self.assertEqual(self.sim.deposit_counts(), {})
        self.assertIn("refused the login", self.manager.mpesa_last_error)
        stops = self.manager.message_ids.filtered(
            lambda m: "disbursement stopped" in (m.body or "")
        )
        self.assertEqual(len(stops), 1)
        # Fixing the password lets the next run pay everyone once.
        self.manager.password = "agent-secret"
        self.run_cron()
        self.assertEqual(self.states(cycle), [const.PAID] * 2)
        self.assert_nobody_paid_twice()

    def test_busy_agent_lock_means_another_worker_sends(self):
        cycle = self.phone_cycle(2, first=60)
        self.prepare_and_send(cycle)
        key = self.manager._mpesa_agent_key()
        with self.registry.cursor() as other_worker:
            other_worker.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (AGENT_LOCK_NAMESPACE, key)
            )
            self.assertTrue(other_worker.fetchone()[0])
            try:
                self.run_cron()
                self.assertEqual(self.sim.requests, 0)
                self.assertEqual(self.states(cycle), [const.QUEUED] * 2)
            finally:
                other_worker.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", (AGENT_LOCK_NAMESPACE, key)
                )
        self.run_cron()
        self.assertEqual(self.states(cycle), [const.PAID] * 2)

    def test_payment_left_sending_by_a_dead_worker_becomes_in_doubt(self):
        cycle = self.phone_cycle(2, first=70)
        self.prepare_and_send(cycle)
        # Phones sort like the beneficiaries' numbers: 70 before 71.
        stale, fresh = self.payments(cycle)
        stale.write({"mpesa_state": const.SENDING, "mpesa_attempt_count": 1})
        self.run_cron()
        self.assertEqual(stale.mpesa_state, const.IN_DOUBT)
        self.assertEqual(fresh.mpesa_state, const.PAID)
        self.assertEqual(self.sim.deposit_count(self.msisdn(70)), 0)
        self.assertIn(stale.name, self.chatter_bodies())
        self.run_cron()
        self.assertEqual(stale.mpesa_state, const.IN_DOUBT)
        self.assertEqual(self.sim.deposit_count(self.msisdn(70)), 0)
