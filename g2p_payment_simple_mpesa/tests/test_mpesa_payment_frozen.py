"""What is paid is what was approved; dispatch fields are not for hand edits."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import MpesaCase, const

# Both addons guard payments; whichever is first in the chain logs.
GUARD_LOGGER = "odoo.addons"
ROLES = {
    "program manager": "g2p_programs.g2p_program_manager",
    "program validator": "g2p_programs.g2p_program_validator",
    "finance validator": "g2p_programs.g2p_finance_validator",
}


@tagged("post_install", "-at_install")
class TestMpesaPaymentFrozen(MpesaCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {
            role: new_test_user(
                cls.env,
                login="frozen-" + role.replace(" ", "-"),
                groups="base.group_user," + group,
            )
            for role, group in ROLES.items()
        }
        cls.admin = new_test_user(
            cls.env,
            login="frozen-admin",
            groups="base.group_system,g2p_registry_base.group_g2p_admin",
        )

    def queued_payment(self, amount=1500):
        cycle = self.phone_cycle(1, amount=amount, first=self.cycle_seq * 10 + 1)
        self.prepare_and_send(cycle)
        payment = self.payments(cycle)
        self.assertEqual(payment.mpesa_state, const.QUEUED)
        return payment

    def test_nobody_changes_the_amount_of_a_queued_payment_and_the_approved_one_is_paid(
        self,
    ):
        payment = self.queued_payment()
        everyone = dict(self.users, admin=self.admin, superuser=self.env.user)
        for who, user in everyone.items():
            with self.subTest(who=who), self.assertRaises(UserError):
                payment.with_user(user).write({"amount_issued": 15000})
            with self.subTest(who=who, way="onchange"), self.assertRaises(UserError):
                payment.with_user(user).onchange(
                    {"amount_issued": 15000}, ["amount_issued"], {"amount_issued": {}}
                )
            with self.subTest(who=who, way="import"), mute_logger("odoo.sql_db"):
                result = payment.with_user(user).load(
                    [".id", "amount_issued"], [[str(payment.id), "15000"]]
                )
                self.assertFalse(result["ids"], result)
        self.run_cron()
        self.assertEqual(payment.amount_issued, 1500)
        self.assertEqual(payment.mpesa_state, const.PAID)
        self.assertEqual(self.sim.balance_of(payment.mpesa_account_no), 1500)

    def test_payee_snapshot_entitlement_and_fee_are_frozen_too(self):
        payment = self.queued_payment()
        other = self.queued_payment()
        for vals in (
            {"account_number": "999"},
            {"entitlement_id": other.entitlement_id.id},
            {"payment_fee": 5},
            {"name": "renamed"},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError) as caught:
                payment.write(vals)
            self.assertIn("Cancel Payment", str(caught.exception))
            self.assertIn(payment.name, str(caught.exception))

    def test_refused_change_is_logged_with_user_record_and_field(self):
        payment = self.queued_payment()
        user = self.users["finance validator"]
        with (
            self.assertLogs(GUARD_LOGGER, "WARNING") as logs,
            self.assertRaises(UserError),
        ):
            payment.with_user(user).write({"amount_issued": 1501})
        self.assertIn("amount_issued", logs.output[0])
        self.assertIn(user.login, logs.output[0])
        self.assertIn("id %s" % payment.id, logs.output[0])

    def test_an_unchanged_value_saves(self):
        payment = self.queued_payment()
        payment.with_user(self.users["finance validator"]).write(
            {"amount_issued": 1500}
        )
        self.assertEqual(payment.amount_issued, 1500)

    def test_users_cannot_queue_a_paid_payment_again(self):
        payment = self.queued_payment()
        self.run_cron()
        self.assertEqual(payment.mpesa_state, const.PAID)
        for state in (const.QUEUED, const.FAILED):
            with self.subTest(state=state), self.assertRaises(AccessError):
                payment.with_user(self.users["program manager"]).write(
                    {"mpesa_state": state}
                )
        with self.assertRaises(AccessError):
            payment.with_user(self.admin).write({"status": "failed"})
        self.run_cron()
        self.assertEqual(self.sim.deposit_count(payment.mpesa_account_no), 1)

    def test_only_an_administrator_brings_a_retry_forward(self):
        payment = self.queued_payment()
        when = "2000-01-01 00:00:00"
        with self.assertRaises(AccessError):
            payment.with_user(self.users["program manager"]).write(
                {"mpesa_next_attempt_at": when}
            )
        payment.with_user(self.admin).write({"mpesa_next_attempt_at": when})
        self.assertEqual(str(payment.mpesa_next_attempt_at), when)

    def test_a_payment_cannot_be_created_for_another_amount_or_unapproved(self):
        payment = self.queued_payment()
        entitlement = payment.entitlement_id
        Payment = self.env["g2p.payment"].with_user(self.users["program manager"])
        vals = {"entitlement_id": entitlement.id, "cycle_id": entitlement.cycle_id.id}
        with self.assertRaises(UserError):
            Payment.create(dict(vals, amount_issued=15000))
        cycle = self.phone_cycle(1, first=900)
        draft = cycle.entitlement_ids
        draft.state = "draft"
        with self.assertRaises(UserError):
            Payment.create(
                {"entitlement_id": draft.id, "cycle_id": cycle.id, "amount_issued": 100}
            )

    def test_entitlement_amount_is_frozen_until_its_payment_is_cancelled(self):
        payment = self.queued_payment()
        entitlement = payment.entitlement_id
        with self.assertRaises(UserError) as caught:
            entitlement.with_user(self.users["program manager"]).write(
                {"initial_amount": 2000}
            )
        self.assertIn(payment.name, str(caught.exception))
        wizard = (
            self.env["g2p.payment.mpesa.cancel.wizard"]
            .with_user(self.users["program manager"])
            .create(
                {"payment_ids": [(6, 0, payment.ids)], "reason": "Amount was wrong"}
            )
        )
        wizard.action_apply()
        self.assertEqual(payment.mpesa_state, const.FAILED)
        self.assertIn("Amount was wrong", payment.mpesa_failure_reason)
        self.assertIn("Amount was wrong", self.chatter_bodies())
        entitlement.with_user(self.users["program manager"]).write(
            {"initial_amount": 2000}
        )
        cycle = entitlement.cycle_id
        self.prepare_and_send(cycle)
        self.run_cron()
        paid = self.payments(cycle).filtered(lambda p: p.mpesa_state == const.PAID)
        self.assertEqual(paid.amount_issued, 2000)
        self.assertEqual(self.sim.balance_of(paid.mpesa_account_no), 2000)
        self.assertEqual(self.sim.deposit_count(paid.mpesa_account_no), 1)

    def test_only_queued_payments_can_be_cancelled(self):
        payment = self.queued_payment()
        self.run_cron()
        wizard = self.env["g2p.payment.mpesa.cancel.wizard"].create(
            {"payment_ids": [(6, 0, payment.ids)], "reason": "Changed my mind"}
        )
        with self.assertRaises(UserError) as caught:
            wizard.action_apply()
        self.assertIn("can no longer be cancelled", str(caught.exception))
        self.assertEqual(payment.mpesa_state, const.PAID)


@tagged("post_install", "-at_install")
class TestMpesaBatchAndPayeeFrozen(MpesaCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pm = new_test_user(
            cls.env,
            login="frozen-batch-pm",
            groups="base.group_user,g2p_programs.g2p_program_manager",
        )

    def test_a_program_manager_cannot_move_a_batch_to_another_manager(self):
        cycle = self.phone_cycle(2)
        self.prepare_and_send(cycle)
        batch = self.payments(cycle).batch_id
        other = self.manager.copy({"name": "Other program's manager"})
        for vals in (
            {"mpesa_manager_id": other.id},
            {"mpesa_due": False},
            {"payment_ids": [(5, 0, 0)]},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                batch.with_user(self.pm).write(vals)
        with self.assertRaises(AccessError):
            other.with_user(self.pm).write({"mpesa_batch_ids": [(4, batch.id)]})
        self.assertEqual(batch.mpesa_manager_id, self.manager)

    def test_a_program_manager_still_prepares_sends_and_cancels(self):
        cycle = self.phone_cycle(3)
        cycle.with_user(self.pm).prepare_payment()
        cycle.with_user(self.pm).send_payment()
        payments = self.payments(cycle)
        self.assertEqual(set(payments.mapped("mpesa_state")), {const.QUEUED})
        self.env["g2p.payment.mpesa.cancel.wizard"].with_user(self.pm).create(
            {"payment_ids": [(6, 0, payments[:1].ids)], "reason": "Wrong person"}
        ).action_apply()
        self.run_cron()
        self.assertEqual(
            payments.mapped("mpesa_state"), [const.FAILED, const.PAID, const.PAID]
        )
        self.assertEqual(sum(self.sim.deposit_counts().values()), 2)

    def test_payee_settings_wait_until_payments_on_their_way_are_done(self):
        cycle = self.phone_cycle(2)
        self.prepare_and_send(cycle)
        with self.assertRaises(UserError) as caught:
            self.manager.with_user(self.pm).write({"payee_id_type": "email"})
        self.assertIn("2 of its payments are on their way", str(caught.exception))
        self.run_cron()
        self.manager.with_user(self.pm).write({"payee_id_type": "email"})
        self.assertEqual(self.manager.payee_id_type, "email")
