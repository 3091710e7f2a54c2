import json
from unittest.mock import patch

from lxml import etree

from odoo import tools
from odoo.tests import tagged

from .. import const
from .common import FilePaymentCase


@tagged("post_install", "-at_install")
class TestKeyForm(FilePaymentCase):
    def _form(self):
        arch = self.env["g2p.crypto.key.set"].get_views([(False, "form")])["views"][
            "form"
        ]["arch"]
        return etree.fromstring(arch)

    def test_the_key_form_shows_the_jwks_url_verifiers_fetch(self):
        key = self.manager.active_key_set_id
        self.assertEqual(
            key.jwks_url, "https://vouchers.example.org/apiv1payment/jwks.json"
        )
        endpoint = self.env.ref("g2p_payment_files.fastapi_endpoint_data")
        endpoint.root_path = "/vouchers/"
        key.invalidate_recordset(["jwks_url"])
        self.assertEqual(
            key.jwks_url, "https://vouchers.example.org/vouchers/jwks.json"
        )
        self.assertTrue(self._form().xpath("//field[@name='jwks_url']"))

    def test_the_public_jwk_is_shown_wrapped_one_member_per_line(self):
        key = self.manager.active_key_set_id
        self.assertEqual(json.loads(key.jwk_display), json.loads(key.jwk))
        self.assertGreater(key.jwk_display.count("\n"), 4)
        [field] = self._form().xpath("//field[@name='jwk_display']")
        self.assertIn("text-break", field.get("class"))
        self.assertIn("font-monospace", field.get("class"))

    def test_an_unencrypted_key_is_flagged_with_the_fix(self):
        key = self.manager.active_key_set_id
        with patch.dict(tools.config.options, {const.KEY_PASSPHRASE_OPTION: ""}):
            key.invalidate_recordset(["passphrase_configured"])
            self.assertFalse(key.priv_key_encrypted)
            self.assertFalse(key.passphrase_configured)
        with patch.dict(
            tools.config.options, {const.KEY_PASSPHRASE_OPTION: "a-long-secret"}
        ):
            key.invalidate_recordset(["passphrase_configured"])
            self.assertTrue(key.passphrase_configured)
        form = self._form()
        [no_passphrase] = form.xpath("//div[@name='unencrypted_no_passphrase']")
        self.assertEqual(
            no_passphrase.get("invisible"),
            "priv_key_encrypted or passphrase_configured or status == 'revoked'",
        )
        self.assertIn(
            const.KEY_PASSPHRASE_OPTION, etree.tostring(no_passphrase).decode()
        )
        [old_key] = form.xpath("//div[@name='unencrypted_old_key']")
        self.assertEqual(
            old_key.get("invisible"),
            "priv_key_encrypted or not passphrase_configured or status == 'revoked'",
        )
        self.assertIn("Rotate Key", etree.tostring(old_key).decode())
