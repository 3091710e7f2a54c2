"""Offline redemption: what a point paid without network, synced later in batches.

Each item is applied once (by its transaction id: a batch sent again changes
nothing); a voucher already redeemed elsewhere, or cancelled meanwhile, makes
a disputed claim an officer decides, with both records: never dropped, never
paid twice.  Items are applied one by one in savepoints, so a refused item
does not refuse the batch.
"""

from odoo import _, api, fields, models

from ..redemption import const, keys
from .voucher_redemption_service import PAYMENT_FAILED, RedemptionRefused


class G2PVoucherRedemptionSync(models.AbstractModel):
    _inherit = "g2p.voucher.redemption.service"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _sync(self, device, items):
        """Apply redemptions an offline point made; one result per item."""
        if len(items) > const.MAX_SYNC_ITEMS:
            raise RedemptionRefused(
                const.ERR_BATCH_TOO_LARGE,
                413,
                _(
                    "%(count)s redemptions in one sync; send at most %(max)s at a "
                    "time.",
                    count=len(items),
                    max=const.MAX_SYNC_ITEMS,
                ),
            )
        results = []
        for item in items:
            code, txn = item.get("code"), item.get("transaction_id")
            try:
                with self.env.cr.savepoint():
                    results.append(
                        self._sync_item(device, code, txn, item.get("redeemed_at"))
                    )
            except RedemptionRefused as refusal:
                self._log_refusal(device, "sync", refusal, code, txn)
                results.append(
                    {
                        "transaction_id": txn,
                        "result": const.ITEM_REFUSED,
                        "error": refusal.as_dict(),
                    }
                )
        counts = {
            kind: sum(1 for r in results if r["result"] == kind)
            for kind in (const.ITEM_ACCEPTED, const.ITEM_DISPUTED, const.ITEM_REFUSED)
        }
        return {"results": results, **counts}

    def _sync_item(self, device, code, transaction_id, redeemed_at):
        transaction_id = self._transaction_id(transaction_id)
        when = self._device_time(redeemed_at)
        digest = keys.request_digest(code, transaction_id)
        found, met = self._scan(device, code, transaction_id)
        if met:
            replay = self._replayed(met, transaction_id, digest)
            return self._item_result(replay, replay=True)
        found = self._judge(device, code, found, at=when, offline=True)
        met = self._ledger_met(device, transaction_id, found.payment, lock=True)
        if met and met.mine:
            replay = self._replayed(met, transaction_id, digest)
            return self._item_result(replay, replay=True)
        prior = met.record if met else None
        cancelled = (
            found.status == PAYMENT_FAILED
            or found.cancelled
            or found.issue != found.current_issue
        )
        if prior or cancelled:
            claim = self._record(
                device,
                found,
                transaction_id,
                digest,
                when=when,
                mode=const.MODE_OFFLINE,
                state=const.REDEMPTION_DISPUTED,
                dispute_of=prior,
            )
            if cancelled and not prior:
                claim.resolution = _(
                    "The voucher was cancelled; this point paid it offline."
                )
            return self._item_result(claim)
        redemption = self._record(
            device, found, transaction_id, digest, when=when, mode=const.MODE_OFFLINE
        )
        return self._item_result(redemption)

    def _item_result(self, redemption, replay=False):
        result = {
            "transaction_id": redemption.transaction_id,
            "result": const.ITEM_DISPUTED
            if redemption.state != const.REDEMPTION_ACCEPTED
            else const.ITEM_ACCEPTED,
            "replay": replay,
            "payment": redemption.payment_id.name,
        }
        first = redemption.dispute_of_id
        if first:
            result["first_redemption"] = {
                "redeemed_at": fields.Datetime.to_string(first.redeemed_at),
                "point": first.point_id.name,
            }
        return result
