"""Online redemption: payable once, refusals a cashier understands."""

from datetime import timedelta

from odoo.tests import tagged

from ..redemption import const
from .common import RedemptionCase


@tagged("post_install", "-at_install")
class TestRedeemOnline(RedemptionCase):
    def test_check_says_payable_with_beneficiary_and_amount_and_changes_nothing(self):
        payment = self.payments()[0]
        response = self.post("/vouchers/check", {"code": self.code_of(payment)})
        self.assertEqual(response.status_code, 200, response.text)
        answer = response.json()
        self.assertEqual(answer["status"], "payable")
        self.assertEqual(answer["payment"], payment.name)
        self.assertEqual(answer["beneficiary"], payment.partner_id.name)
        self.assertEqual(answer["amount"], payment.amount_issued)
        self.assertNotEqual(payment.status, "paid")

    def test_redeem_pays_the_payment_and_the_entitlement_once(self):
        payment = self.payments()[0]
        response = self.redeem(self.code_of(payment), "txn-1")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["status"], "redeemed")
        self.assertEqual(
            (payment.status, payment.state, payment.amount_paid),
            ("paid", "reconciled", payment.amount_issued),
        )
        self.assertEqual(payment.entitlement_id.state, "rdpd2ben")
        [redemption] = self.env["g2p.voucher.redemption"].search(
            [("payment_id", "=", payment.id)]
        )
        self.assertEqual(
            (redemption.point_id, redemption.device_id, redemption.transaction_id),
            (self.point, self.device, "txn-1"),
        )

    def test_another_redemption_is_refused_with_when_and_where(self):
        payment = self.payments()[0]
        self.redeem(self.code_of(payment))
        other_point = self.env["g2p.redemption.point"].create(
            {"name": "Other Shop", "program_ids": [(6, 0, self.program.ids)]}
        )
        _device, key = self.keyed_device(other_point, "Till 9")
        # The same voucher, by its barcode typed by hand, at another point.
        response = self.redeem(self.code_of(payment, "ref"), key=key)
        self.assertEqual(response.status_code, 409)
        error = self.error(response)
        self.assertEqual(error["code"], const.ERR_ALREADY_REDEEMED)
        self.assertEqual(error["point"], "Corner Shop")
        self.assertIn("Corner Shop", error["message"])
        check = self.post("/vouchers/check", {"code": self.code_of(payment)})
        self.assertEqual(self.error(check)["code"], const.ERR_ALREADY_REDEEMED)
        self.assertEqual(
            self.env["g2p.voucher.redemption"].search_count(
                [("payment_id", "=", payment.id)]
            ),
            1,
        )

    def test_a_retry_with_the_same_transaction_id_gets_the_same_answer(self):
        code = self.code_of(self.payments()[0])
        first = self.redeem(code, "txn-retry").json()
        again = self.redeem(code, "txn-retry")
        self.assertEqual(again.status_code, 200)
        self.assertTrue(again.json()["replay"])
        self.assertEqual(again.json()["redeemed_at"], first["redeemed_at"])
        other = self.redeem(self.code_of(self.payments()[1]), "txn-retry")
        self.assertEqual(other.status_code, 409)
        self.assertEqual(self.error(other)["code"], const.ERR_TXN_REUSED)
        self.assertNotEqual(self.payments()[1].status, "paid")

    def test_unknown_forged_and_malformed_codes_are_refused_and_logged(self):
        jwt = self.code_of(self.payments()[0])
        header, claims, signature = jwt.split(".")
        forged = ".".join((header, claims, signature[:-4] + "AAAA"))
        cases = [
            ("not a voucher", 404, const.ERR_UNKNOWN),
            (forged, 404, const.ERR_FORGED),
            ("", 422, const.ERR_BAD_REQUEST),
        ]
        for code, status, error_code in cases:
            with self.subTest(code=code[:20]):
                response = self.redeem(code)
                self.assertEqual(response.status_code, status, response.text)
                self.assertEqual(self.error(response)["code"], error_code)
        refusals = self.env["g2p.voucher.redemption.refusal"].search(
            [("point_id", "=", self.point.id)]
        )
        self.assertEqual(
            sorted(refusals.mapped("error_code")),
            sorted(code for _c, _s, code in cases),
        )
        self.assertFalse(self.payments().filtered(lambda p: p.status == "paid"))

    def test_malformed_json_is_a_422_from_the_api(self):
        response = self.post("/vouchers/redeem", {"code": 42})
        self.assertEqual(response.status_code, 422)

    def test_a_voucher_of_another_program_is_refused_at_this_point(self):
        self.point.program_ids = False
        response = self.redeem(self.code_of(self.payments()[0]))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.error(response)["code"], const.ERR_NOT_FOR_POINT)

    def test_cancelled_and_expired_vouchers_are_refused(self):
        cancelled, expired = self.payments()[:2]
        cancelled.status = "failed"
        response = self.redeem(self.code_of(cancelled))
        self.assertEqual(self.error(response)["code"], const.ERR_CANCELLED)
        code = expired.qrcode_ids.get_by_name("jwt")
        self.env.cr.execute(
            "UPDATE g2p_payment_file_qrcode SET create_date = %s WHERE id = %s",
            (code.create_date - timedelta(days=31), code.id),
        )
        self.env.invalidate_all()
        response = self.redeem(code.data)
        self.assertEqual(response.status_code, 410)
        self.assertEqual(self.error(response)["code"], const.ERR_EXPIRED)

    def test_devices_without_a_valid_key_are_refused(self):
        code = self.code_of(self.payments()[0])
        self.assertEqual(self.redeem(code, key="").status_code, 401)
        self.assertEqual(self.redeem(code, key="g2pr_x_y").status_code, 401)
        device, key = self.keyed_device(self.point, "Till 2")
        device.action_revoke_key()
        self.assertEqual(self.redeem(code, key=key).status_code, 401)
        _device, key = self.keyed_device(self.point, "Till 3")
        self.point.active = False
        response = self.redeem(code, key=key)
        self.assertEqual(response.status_code, 401)
        self.assertEqual(self.error(response)["code"], const.ERR_UNAUTHENTICATED)

    def test_keys_are_stored_as_a_hash_only(self):
        device = self.device.sudo()
        self.assertNotIn(device.key_hash, self.key)
        self.assertTrue(self.key.startswith("g2pr_" + device.key_id + "_"))
        self.assertEqual(len(device.key_hash), 64)
