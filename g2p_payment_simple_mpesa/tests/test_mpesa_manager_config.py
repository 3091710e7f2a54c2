import logging

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import AGENT_PASSWORD, MpesaCase


@tagged("post_install", "-at_install")
class TestMpesaManagerConfig(MpesaCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.validator = new_test_user(
            cls.env,
            login="mpesa_validator",
            groups="base.group_user,g2p_programs.g2p_program_validator",
        )
        cls.program_manager = new_test_user(
            cls.env,
            login="mpesa_pm2",
            groups="base.group_user,g2p_programs.g2p_program_manager",
        )

    def test_manager_is_offered_as_a_payment_manager_kind(self):
        selection = self.env["g2p.program.payment.manager"]._selection_manager_ref_id()
        self.assertIn(
            (
                "g2p.program.payment.manager.simple.mpesa",
                "Simple MPesa Payment Manager",
            ),
            selection,
        )

    def test_upstream_defaults(self):
        manager = self.env["g2p.program.payment.manager.simple.mpesa"].new({})
        self.assertTrue(manager.create_batch)
        self.assertEqual(manager.customer_type, "subscriber")
        self.assertEqual(manager.api_timeout, 10)
        self.assertEqual(manager.payee_id_type, "phone")

    def test_payee_id_field_defaults_to_phone_when_left_out(self):
        manager = self.env["g2p.program.payment.manager.simple.mpesa"].create(
            {
                "name": "Mpesa manager without payee field",
                "program_id": self.program.id,
                "batch_tag_ids": [Command.set(self.tag.ids)],
                "auth_endpoint_url": self.sim.auth_url,
                "payment_endpoint_url": self.sim.payment_url,
            }
        )
        self.assertEqual(manager.payee_id_type, "phone")
        self.assertEqual(manager._mpesa_settings_problems(), [])

    def test_validator_reads_the_manager_but_not_the_password(self):
        as_validator = self.manager.with_user(self.validator)
        self.assertEqual(as_validator.read(["name"])[0]["name"], "Mpesa manager")
        with self.assertRaises(AccessError):
            as_validator.read(["password"])
        with self.assertRaises(AccessError):
            getattr(as_validator, "password")  # noqa: B009
        with self.assertRaises(AccessError):
            as_validator.write({"name": "renamed"})

    def test_program_manager_cannot_read_the_credentials_either(self):
        as_pm = self.manager.with_user(self.program_manager)
        with self.assertRaises(AccessError):
            as_pm.read(["password"])
        with self.assertRaises(AccessError):
            as_pm.read(["username"])
        self.assertNotIn("password", as_pm.fields_get())

    def test_password_never_reaches_the_chatter_or_the_log(self):
        with self.assertLogs(
            "odoo.addons.g2p_payment_simple_mpesa", logging.INFO
        ) as logs:
            cycle = self.phone_cycle(1, first=301)
            self.prepare_and_send(cycle)
            self.manager.password = "new-" + AGENT_PASSWORD
            self.manager.password = AGENT_PASSWORD
            self.run_cron()
        self.assertFalse([line for line in logs.output if AGENT_PASSWORD in line])
        self.assertNotIn(AGENT_PASSWORD, self.chatter_bodies())
        tracked = self.manager.message_ids.tracking_value_ids.mapped("field_id.name")
        self.assertNotIn("password", tracked)
        self.assertNotIn("username", tracked)

    def test_endpoint_urls_must_be_http_urls(self):
        for bad in ("mpesa.example.org/api/login", "ftp://x.org/login", "http://"):
            with self.assertRaises(ValidationError) as caught:
                self.manager.auth_endpoint_url = bad
                self.manager.flush_recordset()
            message = str(caught.exception)
            self.assertIn("Authentication Endpoint URL: %r" % bad, message)
            self.assertIn("/api/login/agent", message)
            self.assertNotIn("Payment Endpoint URL", message)

    def test_payment_url_error_suggests_a_deposit_url(self):
        with self.assertRaises(ValidationError) as caught:
            self.manager.payment_endpoint_url = "mpesa.example.org/deposit"
        message = str(caught.exception)
        self.assertIn("Payment Endpoint URL: 'mpesa.example.org/deposit'", message)
        self.assertIn("https://mpesa.example.org/api/transaction/deposit", message)
        self.assertNotIn("login", message)
        self.assertNotIn("Authentication Endpoint URL", message)

    def test_registrant_id_payee_needs_an_id_type(self):
        with self.assertRaises(ValidationError) as caught:
            self.manager.write(
                {"payee_id_type": "reg_id", "reg_id_type_for_payee_id": False}
            )
        self.assertIn("ID Type for Payee ID: empty", str(caught.exception))

    def test_every_mistake_is_reported_in_one_error(self):
        with self.assertRaises(ValidationError) as caught:
            self.manager.write(
                {
                    "auth_endpoint_url": "mpesa.example.org/api/login/agent",
                    "payment_endpoint_url": "ftp://mpesa.example.org/deposit",
                    "api_timeout": 0,
                    "mpesa_max_attempts": 0,
                    "mpesa_payments_per_run": -1,
                    "payee_id_type": "reg_id",
                    "reg_id_type_for_payee_id": False,
                }
            )
        message = str(caught.exception)
        self.assertIn("Payment manager Mpesa manager cannot be saved", message)
        expected = [
            "Authentication Endpoint URL: 'mpesa.example.org/api/login/agent'",
            "Payment Endpoint URL: 'ftp://mpesa.example.org/deposit'",
            "API Timeout: 0 seconds is out of range; enter between 1 and 60",
            "Max Attempts: 0 is too low; enter at least 1.",
            "Payments per Scheduled Run: -1 is too low; enter at least 1.",
            "ID Type for Payee ID: empty",
        ]
        for problem in expected:
            self.assertIn("\n- " + problem, message)
        self.assertEqual(message.count("\n- "), len(expected))

    def test_an_unknown_customer_type_is_listed_with_the_other_mistakes(self):
        # The selection refuses unknown values on write: put one in the database
        # the way an old or hand-edited record could hold it.
        self.manager.flush_recordset()
        self.env.cr.execute(
            "UPDATE g2p_program_payment_manager_simple_mpesa "
            "SET customer_type = 'bogus', api_timeout = 99 WHERE id = %s",
            [self.manager.id],
        )
        self.manager.invalidate_recordset()
        with self.assertRaises(ValidationError) as caught:
            self.manager._check_mpesa_settings()
        message = str(caught.exception)
        self.assertIn("\n- Customer Type: 'bogus' is not a customer type", message)
        self.assertIn("Agent, Subscriber, Merchant", message)
        self.assertIn("\n- API Timeout: 99 seconds", message)
        self.assertEqual(message.count("\n- "), 2)

    def test_settings_of_the_demo_and_the_e2e_run_are_accepted(self):
        Manager = self.env["g2p.program.payment.manager.simple.mpesa"]
        base = "http://127.0.0.1:8055"
        for vals in (
            {
                "payee_id_type": "email",
                "customer_type": "subscriber",
                "auth_endpoint_url": f"{base}/api/login/agent",
                "payment_endpoint_url": f"{base}/api/transaction/deposit",
                "api_timeout": 10,
            },
            {
                "payee_id_type": "phone",
                "auth_endpoint_url": self.sim.auth_url,
                "payment_endpoint_url": self.sim.payment_url,
                "api_timeout": 5,
                "mpesa_payments_per_run": 3,
                "mpesa_auto_disburse": True,
            },
        ):
            manager = Manager.create(
                dict(
                    vals,
                    name="Accepted manager",
                    program_id=self.program.id,
                    batch_tag_ids=[Command.set(self.tag.ids)],
                )
            )
            self.assertEqual(manager._mpesa_settings_problems(), [])

    def test_program_manager_sends_without_seeing_the_credentials(self):
        cycle = self.phone_cycle(2, first=305)
        cycle.prepare_payment()
        action = cycle.with_user(self.program_manager).send_payment()
        self.assertEqual(action["params"]["type"], "success")
        self.assertTrue(cycle.payment_batch_ids.mpesa_due)
        self.run_cron()
        self.assertEqual(self.states(cycle), ["paid", "paid"])

    def test_credentials_are_not_in_the_form_of_non_administrators(self):
        Manager = self.env["g2p.program.payment.manager.simple.mpesa"]
        for user in (self.validator, self.program_manager):
            views = Manager.with_user(user).get_views([(False, "form")])
            arch = views["views"]["form"]["arch"]
            self.assertIn('name="payee_id_type"', arch)
            self.assertNotIn('name="password"', arch)
            self.assertNotIn('name="username"', arch)
        arch = Manager.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="password"', arch)

    def test_shortcuts_open_the_managers_batches_and_in_doubt_payments(self):
        cycle = self.phone_cycle(1, first=307)
        self.prepare_and_send(cycle)
        batches = self.manager.action_open_mpesa_batches()
        self.assertEqual(
            self.env["g2p.payment.batch"].search(batches["domain"]),
            cycle.payment_batch_ids,
        )
        self.sim.add_fault(kind="timeout_before", delay=1.5)
        self.run_cron()
        self.assertEqual(self.manager.mpesa_in_doubt_count, 1)
        doubt = self.manager.action_open_in_doubt_payments()
        self.assertEqual(
            self.env["g2p.payment"].search(doubt["domain"]), self.payments(cycle)
        )

    def test_validator_cannot_disburse_now(self):
        with self.assertRaises(AccessError):
            self.manager.with_user(self.validator).action_disburse_now()

    def test_sending_without_credentials_names_the_manager_and_the_fix(self):
        self.manager.password = False
        cycle = self.phone_cycle(1, first=303)
        cycle.prepare_payment()
        with self.assertRaises(UserError) as caught:
            cycle.send_payment()
        self.assertIn("Mpesa manager", str(caught.exception))
        self.assertIn("password", str(caught.exception))
