"""The status list next to the JWKS: signed, compact, cacheable, and true."""

import json

from joserfc import jwt
from joserfc.jwk import KeySet
from token_status_list import BitArray

from odoo.tests import tagged

from .common import RedemptionCase


@tagged("post_install", "-at_install")
class TestStatusList(RedemptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.payment_endpoint = cls.env.ref("g2p_payment_files.fastapi_endpoint_data")

    def get_list(self, headers=None):
        with self._create_test_client(
            app=self.payment_endpoint._get_app(),
            user=self.payment_endpoint.user_id,
            raise_server_exceptions=False,
        ) as client:
            return client.get("/statuslists/1", headers=headers or {})

    def read_list(self):
        """(claims, bit array) of the served list, checked without our code."""
        response = self.get_list()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.headers["content-type"], "application/statuslist+jwt")
        keys = KeySet.import_key_set(self.jwks())
        token = jwt.decode(response.text, keys)
        self.assertEqual(token.header["typ"], "statuslist+jwt")
        claims = token.claims
        self.assertTrue(claims["sub"].endswith("/apiv1payment/statuslists/1"))
        return claims, BitArray.load(claims["status_list"])

    def index_of(self, payment):
        claims = payment.qrcode_ids.get_by_name("jwt").signed_claims()
        reference = claims["status"]["status_list"]
        self.assertTrue(reference["uri"].endswith("/apiv1payment/statuslists/1"))
        self.assertEqual(reference["idx"], payment.voucher_status_idx)
        return reference["idx"]

    def test_new_vouchers_carry_their_own_entry(self):
        indexes = [self.index_of(p) for p in self.payments()]
        self.assertEqual(len(set(indexes)), len(indexes))
        self.assertTrue(all(i > 0 for i in indexes))
        # The CWT of the same voucher points at the same entry.
        payment = self.payments()[0]
        cwt = payment.qrcode_ids.get_by_name("cwt").signed_claims()
        self.assertEqual(cwt["status"]["status_list"]["idx"], self.index_of(payment))

    def test_redeemed_and_cancelled_vouchers_read_invalid_others_valid(self):
        redeemed, cancelled, valid = self.payments()[:3]
        _claims, before = self.read_list()
        self.assertEqual(before.get(self.index_of(redeemed)), 0)
        self.assertEqual(self.redeem(self.code_of(redeemed)).status_code, 200)
        cancelled.status = "failed"
        self.env.flush_all()
        _claims, after = self.read_list()
        self.assertEqual(after.get(self.index_of(redeemed)), 1)
        self.assertEqual(after.get(self.index_of(cancelled)), 1)
        self.assertEqual(after.get(self.index_of(valid)), 0)

    def test_the_list_is_cacheable_and_revalidated_by_its_etag(self):
        first = self.get_list()
        etag = first.headers["etag"]
        self.assertIn("max-age", first.headers["cache-control"])
        self.assertEqual(self.get_list({"If-None-Match": etag}).status_code, 304)
        self.redeem(self.code_of(self.payments()[0]))
        changed = self.get_list({"If-None-Match": etag})
        self.assertEqual(changed.status_code, 200)
        self.assertNotEqual(changed.headers["etag"], etag)

    def test_the_list_carries_no_personal_data(self):
        claims, _bits = self.read_list()
        text = json.dumps(claims)
        for payment in self.payments():
            self.assertNotIn(payment.name, text)
            self.assertNotIn(payment.partner_id.name, text)
