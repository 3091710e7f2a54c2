from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import FilePaymentCase


@tagged("post_install", "-at_install")
class TestTemplateChecks(FilePaymentCase):
    def _qr(self, name):
        return self.file_config.qrcode_config_ids.filtered(lambda q: q.name == name)

    def test_unclosed_tag_in_voucher_template_is_refused_on_save_with_its_line(self):
        with self.assertRaises(ValidationError) as caught:
            self.file_config.body_string = "<html>\n<body>\n<p>unclosed\n</body>"
        message = str(caught.exception)
        self.assertIn("payment file config Voucher does not parse", message)
        self.assertIn("well-formed XML", message)
        self.assertRegex(message, r"line \d+, column \d+")

    def test_unparsable_attribute_expression_is_refused_on_save_with_its_line(self):
        with self.assertRaises(ValidationError) as caught:
            self.file_config.body_string = '<div>\n  <p t-out="object.name +"/>\n</div>'
        message = str(caught.exception)
        self.assertIn("Voucher", message)
        self.assertIn('line 2: t-out="object.name +"', message)

    def test_bad_attribute_expression_is_refused_when_a_config_is_created(self):
        with self.assertRaisesRegex(ValidationError, "Broken.*line 1: t-att-src"):
            self.env["g2p.payment.file.config"].create(
                {"name": "Broken", "body_string": '<img t-att-src="qrcodes.get(("/>'}
            )

    def test_valid_voucher_template_and_empty_body_still_save(self):
        self.file_config.body_string = (
            '<!DOCTYPE html>\n<p t-if="object.amount_issued &gt; 0" '
            't-out="format_amount(object.amount_issued, company.currency_id)"/>'
        )
        self.env["g2p.payment.file.config"].create({"name": "Draft", "body_string": ""})

    def test_unparsable_code_body_expression_is_refused_on_save(self):
        with self.assertRaises(ValidationError) as caught:
            self._qr("jwt").body_string = '{\n"a": {{ json_dumps(object.name }}\n}'
        message = str(caught.exception)
        self.assertIn("code jwt (payment file config Voucher) does not parse", message)
        self.assertIn("line 2:", message)

    def test_unclosed_braces_in_code_body_are_refused_on_save(self):
        with self.assertRaisesRegex(ValidationError, "line 1: this {{ has no closing"):
            self._qr("jwt").body_string = '{"a": {{ object.name }'

    def test_valid_code_body_still_saves(self):
        self._qr("jwt").body_string = '{"a": {{ json_dumps(object.name) }}}'
        self.assertIn("json_dumps", self._qr("jwt").body_string)
