"""Where the gateway secrets go is for settings administrators only."""

import base64

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import MpesaCase, SimulatorServer
from .common_daraja import DarajaCase

ROUTES_LOGGER = (
    "odoo.addons.g2p_payment_simple_mpesa.models.payment_manager_simple_mpesa_routes"
)
ROLES = {
    "program manager": "g2p_programs.g2p_program_manager",
    "program validator": "g2p_programs.g2p_program_validator",
    "finance validator": "g2p_programs.g2p_finance_validator",
}


def role_users(env):
    """The three program roles, and a settings administrator."""
    users = {
        role: new_test_user(
            env,
            login="routes-" + role.replace(" ", "-"),
            groups="base.group_user," + group,
        )
        for role, group in ROLES.items()
    }
    admin = new_test_user(
        env,
        login="routes-admin",
        groups="base.group_user,base.group_system,g2p_registry_base.group_g2p_admin",
    )
    return users, admin


@tagged("post_install", "-at_install")
class TestSecretRoutesSimpleMpesa(MpesaCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users, cls.admin = role_users(cls.env)
        cls.listener = SimulatorServer(agents=[])
        cls.listener.start()
        cls.addClassCleanup(cls.listener.stop)

    def stored(self):
        self.manager.invalidate_recordset()
        m = self.manager.sudo()
        return (m.auth_endpoint_url, m.payment_endpoint_url, m.username, m.password)

    def test_program_roles_cannot_redirect_login_by_write_create_load_or_onchange(self):
        before = self.stored()
        for role, user in self.users.items():
            manager = self.manager.with_user(user)
            Manager = manager.browse()
            with self.subTest(role=role, way="write"), self.assertRaises(AccessError):
                manager.write({"auth_endpoint_url": self.listener.auth_url})
            with self.subTest(role=role, way="create"), self.assertRaises(AccessError):
                Manager.create(
                    {
                        "name": "Other",
                        "program_id": self.program.id,
                        "auth_endpoint_url": self.listener.auth_url,
                        "payment_endpoint_url": self.listener.payment_url,
                    }
                )
            with self.subTest(role=role, way="load"), mute_logger("odoo.sql_db"):
                result = Manager.load(
                    [".id", "auth_endpoint_url"],
                    [[str(self.manager.id), self.listener.auth_url]],
                )
                self.assertFalse(result["ids"], result)
            with (
                self.subTest(role=role, way="onchange"),
                self.assertRaises(AccessError),
            ):
                manager.onchange(
                    {"auth_endpoint_url": self.listener.auth_url},
                    ["auth_endpoint_url"],
                    {"auth_endpoint_url": {}},
                )
        self.assertEqual(self.stored(), before)

    def test_refused_redirect_is_logged_with_user_record_and_field(self):
        user = self.users["program manager"]
        with (
            self.assertLogs(ROUTES_LOGGER, "WARNING") as logs,
            self.assertRaises(AccessError) as caught,
        ):
            self.manager.with_user(user).write(
                {"payment_endpoint_url": self.listener.payment_url}
            )
        self.assertIn("payment_endpoint_url", logs.output[0])
        self.assertIn(user.login, logs.output[0])
        self.assertIn(str(self.manager.id), logs.output[0])
        self.assertIn("settings administrator", str(caught.exception))
        self.assertIn(self.manager.name, str(caught.exception))

    def test_refused_redirect_sends_nothing_there_and_the_cron_pays_as_before(self):
        cycle = self.phone_cycle(2)
        self.prepare_and_send(cycle)
        with self.assertRaises(AccessError):
            self.manager.with_user(self.users["program manager"]).write(
                {"auth_endpoint_url": self.listener.auth_url}
            )
        self.run_cron()
        self.assertEqual(self.listener.requests, 0)
        self.assertEqual(set(self.states(cycle)), {"paid"})

    def test_program_manager_may_save_other_settings_and_unchanged_urls(self):
        manager = self.manager.with_user(self.users["program manager"])
        manager.write(
            {"api_timeout": 2, "auth_endpoint_url": self.manager.auth_endpoint_url}
        )
        self.assertEqual(self.manager.api_timeout, 2)
        self.assertFalse(manager.mpesa_can_route_secrets)
        self.assertTrue(self.manager.with_user(self.admin).mpesa_can_route_secrets)

    def test_admin_moving_login_to_another_host_clears_the_agent_credentials(self):
        self.manager.with_user(self.admin).write(
            {
                "auth_endpoint_url": self.listener.auth_url.replace(
                    "127.0.0.1", "localhost"
                )
            }
        )
        _auth, _pay, username, password = self.stored()
        self.assertFalse(username)
        self.assertFalse(password)
        body = self.chatter_bodies()
        self.assertIn("were cleared", body)
        self.assertIn(self.admin.name, body)

    def test_admin_moving_login_with_new_credentials_in_one_save_keeps_them(self):
        self.manager.with_user(self.admin).write(
            {
                "auth_endpoint_url": "https://gw.other.example/api/login/agent",
                "username": "new-agent@example.com",
                "password": "new-secret",
            }
        )
        self.assertEqual(self.stored()[2:], ("new-agent@example.com", "new-secret"))

    def test_admin_changing_only_the_path_keeps_the_credentials(self):
        self.manager.with_user(self.admin).write(
            {"payment_endpoint_url": self.sim.payment_url + "?v=2"}
        )
        self.assertEqual(self.stored()[2:], ("agent@example.com", "agent-secret"))


@tagged("post_install", "-at_install")
class TestSecretRoutesDaraja(DarajaCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users, cls.admin = role_users(cls.env)

    def test_program_roles_cannot_change_any_daraja_route(self):
        attempts = {
            "auth_endpoint_url": "https://evil.example/oauth",
            "payment_endpoint_url": "https://evil.example/b2c",
            "daraja_status_url": "https://evil.example/status",
            "daraja_callback_base_url": "https://evil.example",
            "gateway_type": "simple-mpesa",
            "daraja_certificate": base64.b64encode(b"-----BEGIN CERTIFICATE-----x"),
        }
        before = {name: self.manager.sudo()[name] for name in attempts}
        for role, user in self.users.items():
            for name, value in attempts.items():
                with (
                    self.subTest(role=role, field=name),
                    self.assertRaises(AccessError),
                ):
                    self.manager.with_user(user).write({name: value})
        self.manager.invalidate_recordset()
        self.assertEqual({name: self.manager.sudo()[name] for name in attempts}, before)

    def test_admin_moving_token_url_clears_the_app_keys_and_says_so(self):
        self.manager.with_user(self.admin).write(
            {"auth_endpoint_url": "https://sandbox.example.org/oauth/v1/generate"}
        )
        manager = self.manager.sudo()
        self.assertFalse(manager.daraja_consumer_key)
        self.assertFalse(manager.daraja_consumer_secret)
        self.assertTrue(manager.daraja_initiator_password)
        self.assertIn("Consumer Key", self.chatter_bodies())

    def test_admin_moving_status_url_clears_the_initiator_password(self):
        self.manager.with_user(self.admin).write(
            {"daraja_status_url": "https://other.example.org/status"}
        )
        self.assertFalse(self.manager.sudo().daraja_initiator_password)

    def test_admin_moving_callbacks_makes_a_new_callback_secret(self):
        old = self.manager.sudo().daraja_callback_secret
        self.manager.with_user(self.admin).write(
            {"daraja_callback_base_url": "https://odoo.other.example"}
        )
        new = self.manager.sudo().daraja_callback_secret
        self.assertTrue(new)
        self.assertNotEqual(new, old)
        self.assertTrue(self.manager.sudo().daraja_consumer_key)

    def test_certificate_change_is_recorded(self):
        self.manager.with_user(self.admin).write(
            {"daraja_certificate": base64.b64encode(self.daraja.certificate_pem)}
        )
        self.assertIn("replaced the M-Pesa certificate", self.chatter_bodies())
