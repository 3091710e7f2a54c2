"""Cancel a lost voucher, reissue it: only the newest one pays."""

from token_status_list import BitArray

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from ..redemption import const
from .common import RedemptionCase


@tagged("post_install", "-at_install")
class TestVoucherReissue(RedemptionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.officer = new_test_user(
            cls.env,
            login="voucher-officer",
            groups="base.group_user,g2p_programs.g2p_program_manager",
        )

    def cancel(self, payment, reissue=True, reason="Lost at the market"):
        self.env["g2p.voucher.cancel.wizard"].with_user(self.officer).create(
            {"payment_ids": [(6, 0, payment.ids)], "reason": reason, "reissue": reissue}
        ).action_apply()
        self.env.invalidate_all()

    def bits(self):
        self.env.flush_all()
        lst, _size = self.env["g2p.voucher.status.list"]._lst()
        return BitArray.load({"bits": 1, "lst": lst})

    def test_a_cancelled_voucher_is_refused_and_the_reason_kept(self):
        payment = self.payments()[0]
        old = self.code_of(payment)
        self.cancel(payment, reissue=False)
        response = self.redeem(old)
        self.assertEqual(response.status_code, 410)
        self.assertEqual(self.error(response)["code"], const.ERR_CANCELLED)
        self.assertIn(
            "Lost at the market", " ".join(payment.cycle_id.message_ids.mapped("body"))
        )
        self.assertEqual(self.bits().get(payment.voucher_status_idx), 1)

    def test_the_reissued_voucher_pays_and_the_old_one_never_does(self):
        payment = self.payments()[0]
        old_code = self.code_of(payment)
        old_idx = payment.voucher_status_idx
        self.cancel(payment)
        self.assertEqual(payment.voucher_issue, 2)
        self.assertFalse(payment.voucher_cancelled)
        new_codes = payment.qrcode_ids.filtered(lambda q: q.voucher_issue == 2)
        self.assertEqual(len(new_codes), 3)
        new_code = new_codes.get_by_name("jwt").data
        self.assertNotEqual(new_code, old_code)
        self.assertNotEqual(payment.voucher_status_idx, old_idx)
        refused = self.redeem(old_code)
        self.assertEqual(self.error(refused)["code"], const.ERR_CANCELLED)
        self.assertIn("replaced", self.error(refused)["message"])
        self.assertEqual(self.redeem(new_code).status_code, 200)
        bits = self.bits()
        self.assertEqual(bits.get(old_idx), 1)
        self.assertEqual(bits.get(payment.voucher_status_idx), 1)  # redeemed
        # The barcode prints the same text on every issue: the chatter says so.
        self.assertIn(
            "print the same text", " ".join(payment.cycle_id.message_ids.mapped("body"))
        )

    def test_a_redeemed_voucher_cannot_be_cancelled(self):
        payment = self.payments()[0]
        self.redeem(self.code_of(payment))
        with self.assertRaises(UserError):
            self.cancel(payment)
        self.assertEqual(payment.voucher_issue, 1)

    def test_the_old_voucher_paid_offline_after_a_reissue_is_a_dispute(self):
        payment = self.payments()[0]
        old_code = self.code_of(payment)
        self.cancel(payment)
        response = self.post(
            "/vouchers/sync",
            {"items": [{"code": old_code, "transaction_id": "off-old"}]},
        )
        [result] = response.json()["results"]
        self.assertEqual(result["result"], const.ITEM_DISPUTED)
        self.assertNotEqual(payment.status, "paid")

    def test_only_voucher_officers_cancel(self):
        clerk = new_test_user(self.env, login="clerk", groups="base.group_user")
        with self.assertRaises(UserError):
            self.payments()[0].with_user(clerk)._voucher_cancel("Lost it today")
