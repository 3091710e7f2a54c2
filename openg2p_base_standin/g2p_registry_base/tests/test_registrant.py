from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestRegistrant(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.national_id, cls.passport = cls.env["g2p.id.type"].create(
            [{"name": "National ID"}, {"name": "Passport"}]
        )
        cls.registrant = cls.env["res.partner"].create(
            {
                "name": "Amina",
                "is_registrant": True,
                "phone": "+254700000001",
                "reg_ids": [
                    (0, 0, {"id_type": cls.national_id.id, "value": "NID-1"}),
                    (0, 0, {"id_type": cls.passport.id, "value": "P-9"}),
                ],
            }
        )

    def test_reg_ids_are_found_by_type(self):
        self.assertEqual(self.registrant.get_reg_id(self.passport), "P-9")
        self.assertEqual(self.registrant.get_reg_id("National ID"), "NID-1")
        self.assertFalse(self.registrant.get_reg_id("Driving licence"))
        self.assertEqual(self.registrant.reg_ids[0].display_name, "National ID: NID-1")

    def test_duplicate_id_type_name_is_rejected(self):
        with self.assertRaisesRegex(ValidationError, "national id"):
            self.env["g2p.id.type"].create({"name": "national id"})

    def test_iban_is_normalized_and_checked(self):
        bank = self.env["res.partner.bank"].create(
            {
                "partner_id": self.registrant.id,
                "acc_number": "12345698765432",
                "iban": "gb82 west 1234 5698 7654 32",
            }
        )
        self.assertEqual(bank.iban, "GB82WEST12345698765432")
        self.assertEqual(self.registrant.bank_ids.iban, "GB82WEST12345698765432")
        with self.assertRaisesRegex(ValidationError, "GB00WEST12345698765432.*Amina"):
            bank.iban = "GB00 WEST 1234 5698 7654 32"

    def test_registrant_flags_default_off(self):
        contact = self.env["res.partner"].create({"name": "Plain contact"})
        self.assertFalse(contact.is_registrant)
        self.assertFalse(contact.is_group)
        self.assertTrue(self.registrant.is_registrant)
