import base64

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common_daraja import DarajaCase, const


@tagged("post_install", "-at_install")
class TestDarajaSettings(DarajaCase):
    def test_new_manager_is_simple_mpesa_with_no_callback_secret(self):
        manager = self.env["g2p.program.payment.manager.simple.mpesa"].create(
            {
                "name": "Plain",
                "program_id": self.program.id,
                "batch_tag_ids": [Command.set(self.tag.ids)],
                "auth_endpoint_url": self.sim.auth_url,
                "payment_endpoint_url": self.sim.payment_url,
            }
        )
        self.assertEqual(manager.gateway_type, const.GATEWAY_SIMPLE_MPESA)
        self.assertFalse(manager.daraja_callback_secret)
        self.assertFalse(manager.daraja_result_url)

    def test_daraja_manager_gets_its_own_secret_and_callback_urls(self):
        secret = self.manager.daraja_callback_secret
        self.assertGreaterEqual(len(secret), 32)
        self.assertEqual(
            self.manager.daraja_result_url,
            "http://odoo.test/apiv1mpesa/daraja/%s/result" % secret,
        )
        self.assertTrue(self.manager.daraja_timeout_url.endswith("/timeout"))
        self.assertIn("M-Pesa simulator", self.manager.daraja_certificate_info)
        self.manager.action_daraja_regenerate_callback_secret()
        self.assertNotEqual(self.manager.daraja_callback_secret, secret)

    def test_bad_settings_are_refused_on_save_naming_the_manager_and_fixes(self):
        with self.assertRaises(ValidationError) as caught:
            self.manager.write(
                {
                    "daraja_shortcode": "12ab",
                    "daraja_certificate": base64.b64encode(b"not a certificate"),
                    "daraja_consumer_key": "",
                    "daraja_concurrency": 0,
                    "daraja_callback_base_url": "odoo.example.org",
                }
            )
        message = str(caught.exception)
        self.assertIn(self.manager.name, message)
        for expected in (
            "Shortcode (PartyA): '12ab'",
            "M-Pesa Certificate: The M-Pesa certificate is not a PEM or DER",
            "Consumer Key: empty",
            "Parallel Requests: 0 is out of range",
            "Callback Base URL: 'odoo.example.org'",
        ):
            self.assertIn(expected, message)

    def test_switching_to_daraja_without_settings_is_refused(self):
        plain = self.env["g2p.program.payment.manager.simple.mpesa"].create(
            {
                "name": "Plain",
                "program_id": self.program.id,
                "batch_tag_ids": [Command.set(self.tag.ids)],
                "auth_endpoint_url": self.sim.auth_url,
                "payment_endpoint_url": self.sim.payment_url,
            }
        )
        with self.assertRaisesRegex(ValidationError, "Initiator Password: empty"):
            plain.gateway_type = const.GATEWAY_DARAJA_B2C

    def test_send_is_refused_when_the_password_cannot_be_encrypted(self):
        cycle = self.phone_cycle(1)
        cycle.prepare_payment()
        self.manager.sudo().daraja_initiator_password = "x" * 300
        with self.assertRaisesRegex(UserError, "Mpesa manager.*too long"):
            cycle.send_payment()

    def test_secrets_are_for_settings_administrators_only(self):
        fields_ = self.env["g2p.program.payment.manager.simple.mpesa"]._fields
        for name in (
            "daraja_consumer_key",
            "daraja_consumer_secret",
            "daraja_initiator_password",
            "daraja_callback_secret",
        ):
            self.assertEqual(fields_[name].groups, "base.group_system", name)

    def test_form_shows_the_daraja_group_for_daraja_managers(self):
        view = self.env["g2p.program.payment.manager.simple.mpesa"].get_view(
            self.env.ref(
                "g2p_payment_simple_mpesa.view_payment_manager_simple_mpesa_form"
            ).id
        )
        self.assertIn('name="daraja_b2c"', view["arch"])
        self.assertIn("gateway_type", view["arch"])

    def test_test_connection_gets_a_token_and_pays_nobody(self):
        action = self.manager.action_mpesa_test_connection()
        params = action["params"]
        self.assertEqual(params["type"], const.NOTIFY_INFO, params)
        self.assertIn("OAuth token was issued", params["message"])
        self.assertIn(self.daraja.shortcode, params["message"])
        self.assertEqual(self.daraja.tokens_issued, 1)
        self.assertFalse(self.daraja.ledger())

    def test_test_connection_names_the_fix_for_a_wrong_consumer_secret(self):
        self.manager.daraja_consumer_secret = "not-the-secret"
        params = self.manager.action_mpesa_test_connection()["params"]
        self.assertEqual(params["type"], const.NOTIFY_DANGER, params)
        self.assertIn("consumer key and secret", params["message"])
        self.assertNotIn("not-the-secret", params["message"])
