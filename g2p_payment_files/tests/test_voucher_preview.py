import base64
import json
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..vouchers import claims as voucher_claims
from ..vouchers.verify import VerificationError, verify_payload
from ..wizard.payment_file_preview import PREVIEW_KID
from .common import FilePaymentCase

# The preview CSV shows the JWT it was given, to look inside.
CSV_WITH_CODE = (
    "<t t-out='object.name'/>,<t t-out=\"qrcodes.get_by_name('jwt').data\"/>"
)
BROKEN_ON_LINE_4 = """<!DOCTYPE html>
<html><body>
<p t-out="object.name"/>
<p t-out="object.partner_id.no_such_field"/>
</body></html>"""


@tagged("post_install", "-at_install")
class TestVoucherPreview(FilePaymentCase):
    def _preview(self, **vals):
        action = self.file_config.action_preview_voucher()
        self.assertEqual(action["target"], "new")
        preview = self.env[action["res_model"]].browse(action["res_id"])
        if vals:
            preview.write(vals)
        return preview

    def _counts(self):
        return (
            self.env["g2p.payment.file.qrcode"].search_count([]),
            self.env["storage.file"].search_count([]),
            self.env["ir.attachment"].search_count([("res_model", "!=", False)]),
        )

    def test_preview_downloads_the_latest_payments_pdf_and_stores_nothing(self):
        self.cycle.prepare_payment()
        before = self._counts()
        preview = self._preview()
        latest = self.payments()[-1]
        self.assertEqual(preview.payment_id, latest)
        action = preview.action_render()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["target"], "download")
        self.assertIn("model=g2p.payment.file.preview", action["url"])
        self.assertIn("id=%s" % preview.id, action["url"])
        self.assertTrue(base64.b64decode(preview.data).startswith(b"%PDF"))
        self.assertTrue(preview.file_name.endswith("-PREVIEW.pdf"))
        self.assertEqual(self._counts(), before)
        self.assertEqual(len(latest.qrcode_ids), 3)  # its own codes, untouched

    def test_a_preview_is_signed_with_a_key_no_verifier_trusts(self):
        self.cycle.prepare_payment()
        payment = self.payments()[-1]
        stored_jwt = payment.qrcode_ids.get_by_name("jwt").data
        self.file_config.write({"type": "csv", "body_string": CSV_WITH_CODE})
        preview = self._preview(payment_id=payment.id)
        preview.action_render()
        name, token = base64.b64decode(preview.data).decode().split(",")
        self.assertEqual(name, payment.name)
        self.assertNotEqual(token, stored_jwt)
        self.assertEqual(voucher_claims.jwt_claims(token)["payment"], payment.name)
        header = json.loads(voucher_claims._b64url(token.split(".")[0]))
        self.assertEqual(header["kid"], PREVIEW_KID)
        with self.assertRaises(VerificationError):
            verify_payload(token, self.jwks())
        # The payment's own codes are unchanged; the preview's are gone.
        self.assertEqual(payment.qrcode_ids.get_by_name("jwt").data, stored_jwt)
        self.assertEqual(len(payment.qrcode_ids), 3)

    def test_a_template_failing_for_the_payment_names_its_line(self):
        self.cycle.prepare_payment()
        # Well-formed and compiling, so it saves; it fails when rendered.
        self.file_config.body_string = BROKEN_ON_LINE_4
        with self.assertRaises(UserError) as caught:
            self._preview().action_render()
        message = str(caught.exception)
        self.assertIn("Payment file config Voucher could not render", message)
        self.assertIn("no_such_field", message)
        self.assertIn("template line 4", message)
        self.assertIn('t-out="object.partner_id.no_such_field"', message)

    def test_prepare_errors_name_the_failing_template_line_too(self):
        self.file_config.body_string = BROKEN_ON_LINE_4
        with self.assertRaisesRegex(UserError, "template line 4"):
            self.cycle.prepare_payment()
        self.assertFalse(self.payments())

    def test_preview_without_any_payment_says_what_to_do(self):
        Preview = type(self.env["g2p.payment.file.preview"])
        with patch.object(
            Preview, "_latest_payment", return_value=self.env["g2p.payment"]
        ):
            preview = self._preview()
            with self.assertRaisesRegex(UserError, "prepare the payments of a cycle"):
                preview.action_render()

    def test_the_preview_pdf_is_marked_preview(self):
        Preview = self.env["g2p.payment.file.preview"]
        marked = Preview._watermarked("<html><body class='x'><p>v</p></body></html>")
        self.assertIn("<body class='x'><div", marked)
        self.assertIn("PREVIEW - NOT VALID", marked)
        self.assertTrue(Preview._watermarked("<p>v</p>").startswith("<div"))
