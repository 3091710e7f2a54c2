"""A voucher says what was approved: its payment's terms and templates' reach."""

from odoo.exceptions import UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import FilePaymentCase

ROLES = {
    "program manager": "g2p_programs.g2p_program_manager",
    "program validator": "g2p_programs.g2p_program_validator",
    "finance validator": "g2p_programs.g2p_finance_validator",
}


@tagged("post_install", "-at_install")
class TestVoucherPaymentFrozen(FilePaymentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {
            role: new_test_user(
                cls.env,
                login="voucher-frozen-" + role.replace(" ", "-"),
                groups="base.group_user," + group,
            )
            for role, group in ROLES.items()
        }
        cls.admin = new_test_user(
            cls.env,
            login="voucher-frozen-admin",
            groups="base.group_system,g2p_registry_base.group_g2p_admin",
        )
        cls.cycle.prepare_payment()

    def test_nobody_changes_the_amount_of_a_signed_voucher_payment(self):
        payment = self.payments()[0]
        amount = payment.amount_issued
        everyone = dict(self.users, admin=self.admin, superuser=self.env.user)
        for who, user in everyone.items():
            with self.subTest(who=who), self.assertRaises(UserError) as caught:
                payment.with_user(user).write({"amount_issued": amount + 1900})
            if who in ("admin", "superuser"):
                self.assertIn("cancel its voucher", str(caught.exception))
        with mute_logger("odoo.sql_db"):
            result = payment.with_user(self.users["finance validator"]).load(
                [".id", "amount_issued"], [[str(payment.id), "2000"]]
            )
        self.assertFalse(result["ids"], result)
        self.assertEqual(payment.amount_issued, amount)

    def test_refused_change_is_logged(self):
        payment = self.payments()[0]
        user = self.users["program manager"]
        with (
            self.assertLogs("odoo.addons", "WARNING") as logs,
            self.assertRaises(UserError),
        ):
            payment.with_user(user).write({"account_number": "EVIL-ACCOUNT"})
        self.assertIn("account_number", logs.output[0])
        self.assertIn(user.login, logs.output[0])

    def test_voucher_links_are_made_by_prepare_only(self):
        payment, other = self.payments()[:2]
        with self.assertRaises(UserError):
            payment.with_user(self.users["program manager"]).write(
                {"payment_file_ids": [(6, 0, other.payment_file_ids.ids)]}
            )
        self.assertNotEqual(payment.payment_file_ids, other.payment_file_ids)

    def test_entitlement_amount_is_frozen_under_its_voucher(self):
        entitlement = self.payments()[0].entitlement_id
        for user in (self.users["program manager"], self.admin):
            with self.subTest(user=user.login), self.assertRaises(UserError) as caught:
                entitlement.with_user(user).write({"initial_amount": 5000})
            self.assertIn(self.payments()[0].name, str(caught.exception))
        self.assertNotEqual(entitlement.initial_amount, 5000)

    def test_a_program_manager_still_prepares_vouchers(self):
        cycle = self.create_cycle("Prepared by a program manager")
        self.create_entitlements(cycle, self.registrants)
        cycle.with_user(self.users["program manager"]).prepare_payment()
        payments = self.payments(cycle)
        self.assertEqual(len(payments), len(self.registrants))
        self.assertTrue(all(p.payment_file_ids for p in payments))

    def test_entitlement_without_payment_may_still_be_corrected(self):
        cycle = self.create_cycle("Unprepared")
        [entitlement] = self.create_entitlements(cycle, self.registrants[:1])
        entitlement.with_user(self.users["program manager"]).write(
            {"initial_amount": 7}
        )
        self.assertEqual(entitlement.initial_amount, 7)

    def test_a_payment_for_another_amount_cannot_be_created(self):
        entitlement = self.payments()[0].entitlement_id
        with self.assertRaises(UserError):
            self.env["g2p.payment"].with_user(self.users["program manager"]).create(
                {
                    "entitlement_id": entitlement.id,
                    "cycle_id": entitlement.cycle_id.id,
                    "amount_issued": entitlement.initial_amount * 10,
                }
            )


@tagged("post_install", "-at_install")
class TestTemplateReach(FilePaymentCase):
    """A template prints its records' fields; it cannot reach secrets."""

    def test_voucher_template_reaching_other_records_is_refused_on_save(self):
        for body in (
            "<p t-out=\"object.env['res.users'].search([]).mapped('login')\"/>",
            '<p t-out="user.sudo().partner_id.name"/>',
            '<img t-attf-src="/x?{{ object.sudo().name }}"/>',
            '<p t-out="object._fields"/>',
        ):
            with self.subTest(body=body), self.assertRaises(ValidationError) as caught:
                self.file_config.body_string = body
            self.assertIn("cannot reach other records or rights", str(caught.exception))

    def test_code_template_reaching_other_records_is_refused_on_save(self):
        jwt = self.file_config.qrcode_config_ids.filtered(lambda q: q.name == "jwt")
        with self.assertRaises(ValidationError) as caught:
            jwt.body_string = '{"k": {{ json_dumps(object.env.user.password) }}}'
        self.assertIn("'env'", str(caught.exception))

    def test_template_changes_are_recorded_with_their_author(self):
        # Odoo does not track records created in the same transaction: forget
        # that the class set-up made this one.
        self.env.cr.precommit.clear()
        config = self.file_config.with_context(tracking_disable=False)
        config.body_string = '<p t-out="object.name"/>'
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking values are written before commit
        config.invalidate_recordset()
        tracked = config.message_ids.tracking_value_ids
        self.assertIn("body_string", tracked.field_id.mapped("name"))
        self.assertEqual(config.message_ids[:1].author_id, self.env.user.partner_id)
