import base64
import csv
import io
import json

from joserfc import jwt as joserfc_jwt
from joserfc.jwk import KeySet

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..vouchers.verify import decode_cwt, verify_payload
from .common import BATCH_TEMPLATE, CLAIMS_TEMPLATE, FilePaymentCase

# A newline in a QWeb CSV template (QWeb trims whitespace around directives).
CSV_NL = "<t t-out=\"'\\n'\"/>"


@tagged("post_install", "-at_install")
class TestPreparePayments(FilePaymentCase):
    def _codes(self, payment):
        return {qr.qrcode_config_id.name: qr for qr in payment.qrcode_ids}

    def test_prepare_renders_one_signed_pdf_voucher_per_payment(self):
        self.cycle.prepare_payment()
        payments = self.payments()
        self.assertEqual(len(payments), self.ENTITLEMENT_COUNT)
        jwks = self.jwks()
        kid = self.manager.active_key_set_id.name
        for payment in payments:
            self.assertEqual(len(payment.payment_file_ids), 1)
            stored = payment.payment_file_ids
            self.assertEqual(stored.backend_id, self.store)
            self.assertTrue(stored.name.endswith(".pdf"))
            self.assertTrue(base64.b64decode(stored.data).startswith(b"%PDF"))
            codes = self._codes(payment)
            self.assertEqual(set(codes), {"jwt", "cwt", "ref"})
            # The offline verifier accepts the JWT and the CWT against the JWKS.
            claims = verify_payload(codes["jwt"].data, jwks)
            self.assertEqual(claims["payment"], payment.name)
            self.assertEqual(claims["beneficiary"], payment.partner_id.name)
            self.assertEqual(claims["amount"], payment.amount_issued)
            self.assertEqual(claims["iss"], "https://vouchers.example.org")
            self.assertEqual(claims["exp"] - claims["iat"], 30 * 86400)
            cwt_claims = verify_payload(codes["cwt"].data, jwks, cwt_prefix="G2P:")
            self.assertEqual(cwt_claims["payment"], payment.name)
            self.assertNotIn("exp", cwt_claims)
            self.assertEqual(decode_cwt(codes["cwt"].data, "G2P:")["kid"], kid)
            self.assertEqual(codes["ref"].data, payment.name[:12])
            # Independent check of the JWT with joserfc (the addon signs with
            # python-jose) and the served JWK.
            jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
            decoded = joserfc_jwt.decode(
                codes["jwt"].data,
                KeySet.import_key_set({"keys": [jwk]}),
                algorithms=["ES256"],
            )
            self.assertEqual(decoded.header["kid"], kid)
            self.assertEqual(decoded.claims, claims)
            # QR codes are small 1-bit PNGs in an SVG by default (the PDF keeps
            # them exact, vouchers/lossless.py), barcodes SVG.
            self.assertTrue(
                codes["jwt"].content_htmlsafe.startswith("data:image/svg+xml;base64,")
            )
            wrapper = base64.b64decode(codes["jwt"].content_base64)
            self.assertIn(b'data-g2p="1bit"', wrapper)
            self.assertIn(b"data:image/png;base64,iVBORw0KGgo", wrapper)
            svg = base64.b64decode(codes["ref"].content_base64)
            self.assertIn(b"<svg", svg)
        codes["jwt"].qrcode_config_id.image_format = "svg"
        codes["jwt"].invalidate_recordset()
        vector = base64.b64decode(codes["jwt"].content_base64)
        self.assertIn(b"<path", vector)
        self.assertNotIn(b"data-g2p", vector)

    def test_prepare_renders_per_batch_or_per_payment_as_the_tag_says(self):
        batch_config = self.env["g2p.payment.file.config"].create(
            {
                "name": "Batch sheet",
                "type": "pdf",
                "body_string": BATCH_TEMPLATE,
                "qrcode_config_ids": [
                    Command.create(
                        {
                            "name": "batch-jwt",
                            "data_type": "jwt",
                            "body_string": '{"batch": {{ json_dumps(object.name) }}}',
                        }
                    )
                ],
            }
        )
        csv_config = self.env["g2p.payment.file.config"].create(
            {
                "name": "Bank CSV",
                "type": "csv",
                "body_string": "<t>name,amount" + CSV_NL + "<t t-foreach="
                "'object.payment_ids' t-as='p'>"
                "<t t-out='csv_quote(p.partner_id.name)'/>,"
                "<t t-out='p.amount_issued'/>" + CSV_NL + "</t></t>",
            }
        )
        tag_high, tag_rest = self.env["g2p.payment.batch.tag"].create(
            [
                {
                    "name": "High",
                    "order": 1,
                    "domain": "[('initial_amount', '>=', 101)]",
                    "render_files_per_payment": True,
                    "file_config_ids": [Command.set(self.file_config.ids)],
                },
                {
                    "name": "Rest",
                    "order": 2,
                    "domain": "[]",
                    "file_config_ids": [Command.set((batch_config | csv_config).ids)],
                },
            ]
        )
        self.manager.write(
            {
                "create_batch": True,
                "batch_tag_ids": [Command.set((tag_high | tag_rest).ids)],
            }
        )
        self.cycle.prepare_payment()
        batches = self.cycle.payment_batch_ids
        high = batches.filtered(lambda b: b.tag_id == tag_high)
        rest = batches.filtered(lambda b: b.tag_id == tag_rest)
        self.assertEqual(len(high.payment_ids), 2)
        self.assertEqual(len(rest.payment_ids), 1)
        # Per payment for the "High" tag: one voucher per payment, none on batch.
        for payment in high.payment_ids:
            self.assertEqual(len(payment.payment_file_ids), 1)
            self.assertEqual(len(payment.qrcode_ids), 3)
        self.assertFalse(high.payment_file_ids)
        # Per batch for the "Rest" tag: a batch PDF and a CSV on the batch.
        self.assertEqual(len(rest.payment_file_ids), 2)
        self.assertFalse(rest.payment_ids.payment_file_ids)
        csv_file = rest.payment_file_ids.filtered(lambda f: f.name.endswith(".csv"))
        csv_text = base64.b64decode(csv_file.data).decode()
        rows = list(csv.reader(io.StringIO(csv_text)))
        # Unescaped and quoted: the name with its quote and ampersand survives.
        self.assertEqual(rows[0], ["name", "amount"])
        self.assertEqual(rows[1][0], rest.payment_ids.partner_id.name)
        self.assertIn('"', rows[1][0])
        self.assertIn("&", rows[1][0])
        batch_code = rest.qrcode_ids.get_by_name("batch-jwt")
        self.assertEqual(
            verify_payload(batch_code.data, self.jwks())["batch"], rest.name
        )

    def test_send_payments_says_files_are_handed_over_out_of_band(self):
        self.manager.create_batch = True
        self.cycle.prepare_payment()
        self.assertTrue(self.cycle.payment_batch_ids)
        with self.assertRaisesRegex(UserError, "out of band"):
            self.cycle.send_payment()
        # Raised on the click, never queued: the cycle is not left locked.
        self.assertFalse(self.cycle.locked)
        with self.assertRaisesRegex(UserError, "out of band"):
            self.manager.send_payments(self.env["g2p.payment.batch"])
        with self.assertRaisesRegex(UserError, "out of band"):
            self.manager._send_payments(self.env["g2p.payment.batch"])

    def test_missing_document_store_is_a_clear_error(self):
        self.program.supporting_documents_store = False
        with self.assertRaisesRegex(UserError, "File manager.*document store"):
            self.cycle.prepare_payment()
        self.assertFalse(self.payments())

    def test_revoked_manager_key_is_a_clear_error_for_signed_codes(self):
        self.manager.active_key_set_id.action_revoke()
        with self.assertRaisesRegex(UserError, "Rotate Key"):
            self.cycle.prepare_payment()

    def test_json_data_type_stores_compact_validated_json(self):
        config = self.file_config.qrcode_config_ids.filtered(lambda q: q.name == "jwt")
        config.data_type = "json"
        self.cycle.prepare_payment()
        payment = self.payments()[0]
        data = json.loads(self._codes(payment)["jwt"].data)
        self.assertEqual(data["payment"], payment.name)
        self.assertNotIn("iat", data)
        self.assertEqual(CLAIMS_TEMPLATE.count("json_dumps"), 2)
