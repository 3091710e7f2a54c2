from odoo.tests import tagged

from .common import AGENT, AGENT_PASSWORD, MpesaCase, const

LOGGER = "odoo.addons.g2p_payment_simple_mpesa"


@tagged("post_install", "-at_install")
class TestMpesaOfficerViewConnection(MpesaCase):
    """Test Connection: login and balance against the simulator, no deposit."""

    def _test(self):
        with self.assertLogs(LOGGER, level="DEBUG") as logs:
            action = self.manager.action_mpesa_test_connection()
        params = action["params"]
        text = " ".join(logs.output) + params["message"] + params["title"]
        self.assertNotIn(AGENT_PASSWORD, text)
        return params

    def test_working_settings_say_login_and_balance_worked(self):
        params = self._test()
        self.assertEqual(params["type"], const.NOTIFY_SUCCESS)
        self.assertIn("Login as %s worked" % AGENT, params["message"])
        self.assertIn("1,000,000", params["message"])
        self.assertEqual(self.sim.deposit_counts(), {})

    def test_refused_password_says_what_to_check(self):
        self.manager.password = "wrong-password"
        params = self._test()
        self.assertEqual(params["type"], const.NOTIFY_DANGER)
        self.assertIn("refused the login", params["message"])
        self.assertIn("Check the username and password", params["message"])
        self.assertNotIn("wrong-password", params["message"])

    def test_unreachable_gateway_names_the_login_url(self):
        # Another port is another destination: the credentials go with it.
        self.manager.write(
            {
                "auth_endpoint_url": "http://127.0.0.1:9/api/login/agent",
                "username": AGENT,
                "password": "agent-secret",
            }
        )
        params = self._test()
        self.assertEqual(params["type"], const.NOTIFY_DANGER)
        self.assertIn("Check the Authentication Endpoint URL", params["message"])
        self.assertIn("127.0.0.1:9", params["message"])

    def test_balance_failure_after_login_points_at_the_payment_url(self):
        self.manager.payment_endpoint_url = self.sim.payment_url.replace(
            "/transaction/deposit", "/nowhere/deposit"
        )
        params = self._test()
        self.assertEqual(params["type"], const.NOTIFY_WARNING)
        self.assertIn("Login as %s worked" % AGENT, params["message"])
        self.assertIn("Check the Payment Endpoint URL", params["message"])

    def test_missing_credentials_are_named_before_any_request(self):
        self.manager.password = False
        params = self.manager.action_mpesa_test_connection()["params"]
        self.assertEqual(params["type"], const.NOTIFY_DANGER)
        self.assertIn("Agent Credentials", params["message"])
        self.assertEqual(self.sim.requests, 0)
