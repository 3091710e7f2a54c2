"""Offline redemption synced in batches: once each, conflicts disputed."""

from odoo.tests import new_test_user, tagged

from ..redemption import const
from .common import RedemptionCase


@tagged("post_install", "-at_install")
class TestRedeemOffline(RedemptionCase):
    def sync(self, items, key=None):
        return self.post("/vouchers/sync", {"items": items}, key=key)

    def item(self, payment, txn, when="2026-12-01 10:00:00", name="jwt"):
        return {
            "code": self.code_of(payment, name),
            "transaction_id": txn,
            "redeemed_at": when,
        }

    def test_a_batch_is_applied_once_and_sending_it_again_changes_nothing(self):
        first, second = self.payments()[:2]
        batch = [self.item(first, "off-1"), self.item(second, "off-2")]
        response = self.sync(batch)
        self.assertEqual(response.status_code, 200, response.text)
        answer = response.json()
        self.assertEqual(
            (answer["accepted"], answer["disputed"], answer["refused"]), (2, 0, 0)
        )
        self.assertEqual((first.status, second.status), ("paid", "paid"))
        self.assertEqual(str(first.payment_datetime), "2026-12-01 10:00:00")
        again = self.sync(batch).json()
        self.assertEqual(again["accepted"], 2)
        self.assertTrue(all(r["replay"] for r in again["results"]))
        self.assertEqual(
            self.env["g2p.voucher.redemption"].search_count(
                [("payment_id", "in", (first | second).ids)]
            ),
            2,
        )

    def test_one_voucher_paid_offline_at_two_points_is_disputed_with_both_records(self):
        payment = self.payments()[0]
        other = self.env["g2p.redemption.point"].create(
            {"name": "Village Agent", "program_ids": [(6, 0, self.program.ids)]}
        )
        _device, other_key = self.keyed_device(other, "Agent phone")
        self.sync([self.item(payment, "a-1", "2026-12-01 09:00:00")])
        response = self.sync(
            [self.item(payment, "b-1", "2026-12-01 09:30:00", name="ref")],
            key=other_key,
        )
        [result] = response.json()["results"]
        self.assertEqual(result["result"], const.ITEM_DISPUTED)
        self.assertEqual(result["first_redemption"]["point"], "Corner Shop")
        claims = self.env["g2p.voucher.redemption"].search(
            [("payment_id", "=", payment.id)]
        )
        accepted = claims.filtered(lambda r: r.state == "accepted")
        disputed = claims.filtered(lambda r: r.state == "disputed")
        self.assertEqual((len(accepted), len(disputed)), (1, 1))
        self.assertEqual(disputed.dispute_of_id, accepted)
        self.assertEqual(disputed.point_id, other)
        # Sent again: still one dispute, the same answer.
        again = self.sync(
            [self.item(payment, "b-1", "2026-12-01 09:30:00", name="ref")],
            key=other_key,
        ).json()["results"][0]
        self.assertEqual(
            (again["result"], again["replay"]), (const.ITEM_DISPUTED, True)
        )
        # A finance validator keeps the first redemption.
        finance = new_test_user(
            self.env,
            login="dispute-finance",
            groups="base.group_user,g2p_programs.g2p_finance_validator",
        )
        disputed.with_user(finance).action_reject_claim()
        self.assertEqual(disputed.state, "rejected")
        self.assertIn("Corner Shop", disputed.resolution)

    def test_items_are_refused_one_by_one_and_the_rest_applied(self):
        payment = self.payments()[0]
        batch = [
            {"code": "not a voucher", "transaction_id": "x-1"},
            self.item(payment, "x-2"),
            {
                "code": self.code_of(payment),
                "transaction_id": "x-3",
                "redeemed_at": "soon",
            },
        ]
        answer = self.sync(batch).json()
        kinds = [r["result"] for r in answer["results"]]
        self.assertEqual(kinds, ["refused", "accepted", "refused"])
        self.assertEqual(answer["results"][0]["error"]["code"], const.ERR_UNKNOWN)
        self.assertEqual(answer["results"][2]["error"]["code"], const.ERR_BAD_REQUEST)
        self.assertEqual(payment.status, "paid")

    def test_an_oversized_batch_is_refused_whole(self):
        payment = self.payments()[0]
        items = [
            self.item(payment, f"big-{i}") for i in range(const.MAX_SYNC_ITEMS + 1)
        ]
        response = self.sync(items)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(self.error(response)["code"], const.ERR_BATCH_TOO_LARGE)
        self.assertNotEqual(payment.status, "paid")

    def test_a_cancelled_voucher_paid_offline_is_a_dispute_not_a_loss(self):
        payment = self.payments()[0]
        payment.status = "failed"
        [result] = self.sync([self.item(payment, "c-1")]).json()["results"]
        self.assertEqual(result["result"], const.ITEM_DISPUTED)
        claim = self.env["g2p.voucher.redemption"].search(
            [("transaction_id", "=", "c-1")]
        )
        self.assertIn("cancelled", claim.resolution)
        self.assertEqual(payment.status, "failed")


@tagged("post_install", "-at_install")
class TestCycleFigures(RedemptionCase):
    def test_the_cycle_counts_who_was_actually_paid(self):
        redeemed, cancelled, disputed = self.payments()[:3]
        self.redeem(self.code_of(redeemed))
        cancelled.status = "failed"
        other = self.env["g2p.redemption.point"].create(
            {"name": "Far Shop", "program_ids": [(6, 0, self.program.ids)]}
        )
        _device, key = self.keyed_device(other, "Far till")
        self.redeem(self.code_of(disputed), "d-1")
        self.post(
            "/vouchers/sync",
            {"items": [{"code": self.code_of(disputed), "transaction_id": "d-2"}]},
            key=key,
        )
        self.cycle.invalidate_recordset()
        cycle = self.cycle
        self.assertEqual(cycle.voucher_issued_count, 3)
        self.assertEqual(cycle.voucher_redeemed_count, 2)
        self.assertEqual(
            cycle.voucher_redeemed_amount,
            redeemed.amount_issued + disputed.amount_issued,
        )
        self.assertEqual(cycle.voucher_cancelled_count, 1)
        self.assertEqual(cycle.voucher_disputed_count, 1)
        self.assertAlmostEqual(cycle.voucher_redeemed_percent, 200 / 3)
        action = cycle.action_view_voucher_disputes()
        self.assertEqual(
            self.env["g2p.voucher.redemption"].search(action["domain"]).point_id, other
        )
