from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..vouchers.verify import verify_payload
from .common import FilePaymentCase


@tagged("post_install", "-at_install")
class TestAccess(FilePaymentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program_manager = new_test_user(
            cls.env,
            login="h5_program_manager",
            groups="base.group_user,g2p_programs.g2p_program_manager",
        )
        cls.g2p_admin = new_test_user(
            cls.env,
            login="h5_g2p_admin",
            groups="base.group_user,g2p_registry_base.group_g2p_admin",
        )

    def test_program_manager_creates_a_manager_but_cannot_read_private_keys(self):
        Manager = self.env["g2p.program.payment.manager.file"].with_user(
            self.program_manager
        )
        manager = Manager.create({"name": "PM manager", "program_id": self.program.id})
        key = manager.active_key_set_id
        self.assertEqual(key.status, "active")
        self.assertTrue(key.jwk)
        with self.assertRaises(AccessError):
            key.read(["priv_key"])
        with self.assertRaises(AccessError):
            self.assertFalse(key.priv_key)
        self.assertNotIn("priv_key", key.read()[0])
        self.assertNotIn("priv_key", key.fields_get())
        with self.assertRaises(AccessError):
            manager.action_rotate_key()
        with self.assertRaises(AccessError):
            key.action_revoke()
        with self.assertRaises(AccessError):
            self.env["g2p.crypto.key.set"].with_user(self.program_manager).create({})

    def _assert_user_prepares_signed_vouchers(self, user):
        self.cycle.with_user(user).prepare_payment()
        payments = self.payments()
        self.assertEqual(len(payments), self.ENTITLEMENT_COUNT)
        for payment in payments:
            self.assertEqual(len(payment.payment_file_ids), 1)
            self.assertEqual(payment.payment_file_ids.backend_id, self.store)
            code = payment.qrcode_ids.get_by_name("jwt")
            self.assertEqual(
                verify_payload(code.data, self.jwks())["payment"], payment.name
            )
        # The user reads the vouchers linked to the payments.
        files = payments.with_user(user).payment_file_ids
        self.assertEqual(len(files), self.ENTITLEMENT_COUNT)
        self.assertTrue(all(name.endswith(".pdf") for name in files.mapped("name")))

    def test_program_manager_prepares_signed_vouchers(self):
        self._assert_user_prepares_signed_vouchers(self.program_manager)

    def test_g2p_admin_without_system_rights_prepares_signed_vouchers(self):
        self.assertFalse(self.g2p_admin.has_group("base.group_system"))
        self._assert_user_prepares_signed_vouchers(self.g2p_admin)

    def test_g2p_admin_rotates_keys_without_reading_private_keys(self):
        manager = self.manager.with_user(self.g2p_admin)
        old_key = manager.active_key_set_id
        manager.action_rotate_key()
        self.assertEqual(old_key.status, "retired")
        self.assertNotEqual(manager.active_key_set_id, old_key)
        with self.assertRaises(AccessError):
            manager.active_key_set_id.read(["priv_key"])

    def test_private_key_is_not_exportable_nor_in_the_manager_form(self):
        key_set = self.manager.active_key_set_id
        self.assertFalse(key_set._fields["priv_key"].exportable)
        exportable = self.env["g2p.crypto.key.set"].fields_get(
            attributes=["exportable"]
        )
        self.assertFalse(exportable["priv_key"]["exportable"])
        arch = (
            self.env["g2p.program.payment.manager.file"]
            .with_user(self.program_manager)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn("crypto_key_set", arch)
        self.assertNotIn("priv_key", arch)
