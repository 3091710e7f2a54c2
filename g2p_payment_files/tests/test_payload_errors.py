from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import FilePaymentCase


@tagged("post_install", "-at_install")
class TestPayloadErrors(FilePaymentCase):
    def _counts(self):
        return (
            self.env["g2p.payment.file.qrcode"].search_count([]),
            self.env["storage.file"].search_count([]),
            self.env["g2p.payment"].search_count([("cycle_id", "=", self.cycle.id)]),
        )

    def test_invalid_json_payload_names_config_and_record_and_leaves_nothing(self):
        before = self._counts()
        # The CWT renders fine; the JWT of the same config is broken JSON, so
        # QR rows of the first code would be orphans without the savepoint.
        self.file_config.qrcode_config_ids.filtered(
            lambda q: q.name == "jwt"
        ).body_string = '{"payment": {{ object.name }}}'
        with self.assertRaises(UserError) as caught:
            self.cycle.prepare_payment()
        message = str(caught.exception)
        self.assertIn("jwt", message)
        self.assertIn("Voucher", message)
        self.assertIn("not valid JSON", message)
        self.assertIn("Fix the code's body template", message)
        self.assertRegex(message, r"failed for Payment \S+")
        self.assertEqual(self._counts(), before)

    def test_broken_voucher_template_names_config_and_record(self):
        before = self._counts()
        self.file_config.body_string = '<p t-out="object.no_such_field"/>'
        with self.assertRaises(UserError) as caught:
            self.cycle.prepare_payment()
        message = str(caught.exception)
        self.assertIn("Payment file config Voucher could not render", message)
        self.assertIn("no_such_field", message)
        self.assertEqual(self._counts(), before)

    def test_malformed_voucher_template_already_stored_is_reported_at_prepare(self):
        # A config saved before templates were checked on save (raw SQL here).
        self.env.cr.execute(
            "UPDATE g2p_payment_file_config SET body_string = %s WHERE id = %s",
            ("<p>unclosed", self.file_config.id),
        )
        self.file_config.invalidate_recordset(["body_string"])
        with self.assertRaisesRegex(UserError, "Voucher is invalid.*well-formed XML"):
            self.cycle.prepare_payment()

    def test_barcode_with_non_string_data_type_is_rejected(self):
        for data_type in ("json", "jwt", "cwt"):
            with self.assertRaisesRegex(ValidationError, "Code 128 barcode"):
                self.env["g2p.payment.file.qrcode.config"].create(
                    {
                        "name": "bad-%s" % data_type,
                        "type": "code-128-barcode",
                        "data_type": data_type,
                    }
                )

    def test_cwt_prefix_outside_qr_alphanumeric_set_is_rejected(self):
        with self.assertRaisesRegex(ValidationError, "CWT prefix"):
            self.env["g2p.payment.file.qrcode.config"].create(
                {"name": "c", "data_type": "cwt", "cwt_prefix": "g2p:"}
            )
