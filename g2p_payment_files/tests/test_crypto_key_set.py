import base64
import json
import logging
from unittest.mock import patch

from cryptography import x509
from psycopg2 import IntegrityError

from odoo import tools
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import crypto_key_set as key_set_module
from ..vouchers import keys as voucher_keys
from ..vouchers.verify import verify_payload
from .common import FilePaymentCase


@tagged("post_install", "-at_install")
class TestCryptoKeySet(FilePaymentCase):
    def test_creating_a_file_manager_creates_an_active_key_with_thumbprint_kid(self):
        key = self.manager.crypto_key_set
        self.assertEqual(len(key), 1)
        self.assertEqual(key.status, "active")
        self.assertEqual(self.manager.active_key_set_id, key)
        self.assertEqual(key.alg, "ES256")
        jwk = json.loads(key.jwk)
        self.assertEqual(key.name, voucher_keys.jwk_thumbprint(jwk))
        self.assertEqual(jwk["kid"], key.name)
        self.assertEqual((jwk["alg"], jwk["use"]), ("ES256", "sig"))
        cert = x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        self.assertEqual(cn, "vouchers.example.org")
        self.assertGreater(
            (cert.not_valid_after_utc - cert.not_valid_before_utc).days, 3600
        )

    def test_rsa_and_ed25519_keys_sign_with_their_algorithm(self):
        for key_type, size, alg in (
            ("rsa", "3072", "RS256"),
            ("ed25519", False, "EdDSA"),
        ):
            manager = self.env["g2p.program.payment.manager.file"].create(
                {
                    "name": "Manager %s" % key_type,
                    "program_id": self.program.id,
                    "key_type": key_type,
                    "key_size": size,
                }
            )
            key = manager.active_key_set_id
            self.assertEqual(key.alg, alg)
            if size:
                self.assertEqual(key.size, size)
            token = key._get_signer().jwt({"x": 1})
            self.assertEqual(verify_payload(token, self.jwks())["x"], 1)

    def test_rotate_retires_old_key_and_both_stay_published_until_revoked(self):
        old_key = self.manager.active_key_set_id
        token = old_key._get_signer().jwt({"payment": "P1"})
        self.manager.action_rotate_key()
        new_key = self.manager.active_key_set_id
        self.assertNotEqual(new_key, old_key)
        self.assertEqual(old_key.status, "retired")
        self.assertTrue(old_key.retired_date)
        kids = {k["kid"] for k in self.jwks()["keys"]}
        self.assertLessEqual({old_key.name, new_key.name}, kids)
        # A voucher printed before the rotation still verifies.
        self.assertEqual(verify_payload(token, self.jwks())["payment"], "P1")
        # A retired key no longer signs.
        with self.assertRaisesRegex(UserError, "no longer signs"):
            old_key._get_signer()
        old_key.action_revoke()
        self.assertEqual(old_key.status, "revoked")
        kids = {k["kid"] for k in self.jwks()["keys"]}
        self.assertNotIn(old_key.name, kids)
        self.assertIn(new_key.name, kids)
        with self.assertRaisesRegex(ValueError, "revoked"):
            verify_payload(token, self.jwks())

    def test_deleting_a_manager_keeps_its_vouchers_verifiable(self):
        key = self.manager.active_key_set_id
        token = key._get_signer().jwt({"payment": "P9"})
        self.manager.unlink()
        self.assertTrue(key.exists())
        self.assertEqual(key.status, "retired")
        self.assertEqual(verify_payload(token, self.jwks())["payment"], "P9")

    def test_one_active_key_per_manager_is_enforced_by_the_database(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            with self.env.cr.savepoint():
                self.env["g2p.crypto.key.set"].create(
                    {"file_payment_manager_id": self.manager.id}
                )
                self.env.flush_all()

    def test_key_material_is_immutable_and_revocation_is_final(self):
        key = self.manager.active_key_set_id
        with self.assertRaisesRegex(UserError, "Rotate"):
            key.write({"type": "rsa"})
        key.action_revoke()
        with self.assertRaisesRegex(UserError, "cannot go from"):
            key.write({"status": "active"})

    def test_private_key_is_encrypted_at_rest_when_a_passphrase_is_configured(self):
        with patch.dict(
            tools.config.options, {"g2p_payment_files_key_passphrase": "s3cret!"}
        ):
            key = self.env["g2p.crypto.key.set"].create({"type": "ec"})
            self.assertTrue(key.priv_key_encrypted)
            self.assertIn("ENCRYPTED PRIVATE KEY", key.priv_key)
            token = key._get_signer().jwt({"a": 1})
        self.assertEqual(verify_payload(token, self.jwks())["a"], 1)
        # Without the passphrase the key cannot be used: a clear error.
        with self.assertRaisesRegex(UserError, "g2p_payment_files_key_passphrase"):
            with patch.dict(
                tools.config.options, {"g2p_payment_files_key_passphrase": "wrong"}
            ):
                key._get_signer()

    def test_missing_passphrase_is_warned_once_per_process(self):
        with patch.object(key_set_module, "_passphrase_warning_logged", False):
            with self.assertLogs(key_set_module.__name__, logging.WARNING) as logs:
                key_set_module.get_key_passphrase()
                key_set_module.get_key_passphrase()
                # assertLogs needs at least one record; count ours.
            warnings = [r for r in logs.records if "passphrase" in r.getMessage()]
        self.assertEqual(len(warnings), 1)
        self.assertFalse(self.manager.active_key_set_id.priv_key_encrypted)
