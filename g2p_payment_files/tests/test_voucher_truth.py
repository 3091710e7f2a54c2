from datetime import timedelta

from odoo.tests import tagged

from ..vouchers.verify import verify_payload
from .common import FilePaymentCase


@tagged("post_install", "-at_install")
class TestVoucherTruth(FilePaymentCase):
    """What a voucher prints comes from what its code signs."""

    def _codes(self, payment):
        return {qr.qrcode_config_id.name: qr for qr in payment.qrcode_ids}

    def test_signed_codes_give_the_voucher_their_signed_issue_and_expiry_dates(self):
        self.cycle.prepare_payment()
        jwks = self.jwks()
        for payment in self.payments():
            codes = self._codes(payment)
            claims = verify_payload(codes["jwt"].data, jwks)
            jwt = codes["jwt"]
            self.assertEqual(int(jwt.issued_at.timestamp()), claims["iat"])
            self.assertEqual(int(jwt.expires_at.timestamp()), claims["exp"])
            self.assertEqual(jwt.expires_at - jwt.issued_at, timedelta(days=30))
            self.assertEqual(jwt.signed_claims()["payment"], payment.name)
            # The CWT has no validity: it is dated but never expires.
            cwt = codes["cwt"]
            self.assertEqual(cwt.issued_at, jwt.issued_at)
            self.assertFalse(cwt.expires_at)
            self.assertEqual(
                cwt.signed_claims()["beneficiary"], payment.partner_id.name
            )
            # A plain string code carries no claims and no dates.
            self.assertEqual(codes["ref"].signed_claims(), {})
            self.assertFalse(codes["ref"].issued_at)

    def test_a_template_prints_the_signed_dates_and_app_formatted_amounts(self):
        self.file_config.write(
            {
                "type": "csv",
                "body_string": (
                    "<t t-set='qr' t-value=\"qrcodes.get_by_name('jwt')\"/>"
                    "<t t-out=\"format_datetime(qr.expires_at, 'UTC', 'yyyy-MM-dd')\"/>"
                    # The real base takes the currency from a journal this
                    # test program has not got: the company's then.
                    "|<t t-out='format_amount(object.amount_issued, "
                    "object.currency_id or company.currency_id)'/>"
                ),
            }
        )
        self.cycle.prepare_payment()
        payment = self.payments()[:1]
        text = (
            self.env["g2p.payment.file.config"]
            ._csv_bytes(self.file_config._render_texts(payment)[payment.id])
            .decode()
        )
        expires = self._codes(payment)["jwt"].expires_at
        day, amount = text.split("|")
        self.assertEqual(day, expires.strftime("%Y-%m-%d"))
        self.assertIn("%.2f" % payment.amount_issued, amount.replace(",", ""))
        currency = payment.currency_id or self.env.company.currency_id
        self.assertIn(currency.symbol, amount)

    def test_qr_settings_have_readable_labels_and_keep_upstreams_stored_values(self):
        Config = self.env["g2p.payment.file.qrcode.config"]
        fields_ = Config.fields_get(
            ["qrcode_error_correct", "qrcode_version", "qrcode_box_size"]
        )
        selection = dict(fields_["qrcode_error_correct"]["selection"])
        self.assertEqual(set(selection), {"0", "1", "2", "3"})
        self.assertTrue(selection["0"].startswith("Medium (M)"))
        self.assertTrue(selection["2"].startswith("High (H)"))
        for label in selection.values():
            self.assertNotIn("ERROR_CORRECT", label)
        self.assertEqual(fields_["qrcode_error_correct"]["string"], "Error Correction")
        self.assertNotEqual(fields_["qrcode_version"]["string"], "Qrcode Version")
        self.assertNotEqual(fields_["qrcode_box_size"]["string"], "Qrcode Box Size")

    def test_config_action_and_menu_have_the_same_name(self):
        menu = self.env.ref("g2p_payment_files.menu_payment_file_configs")
        action = self.env.ref("g2p_payment_files.action_payment_file_config")
        self.assertEqual(menu.name, "Payment File Configs")
        self.assertEqual(action.name, menu.name)

    def test_batch_tags_say_which_entitlements_they_pay(self):
        catch_all, tagged_ = self.env["g2p.payment.batch.tag"].create(
            [
                {"name": "All", "order": 9, "domain": " [ ] "},
                {"name": "Some", "order": 1, "domain": "[('state', '=', 'approved')]"},
            ]
        )
        self.assertIn("catch-all", catch_all.domain_summary)
        self.assertIn("('state', '=', 'approved')", tagged_.domain_summary)
        arch = self.env["g2p.program.payment.manager.file"].get_views(
            [(False, "form")]
        )["views"]["form"]["arch"]
        self.assertIn('name="domain_summary"', arch)
