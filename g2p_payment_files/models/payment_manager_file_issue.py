from uuid import uuid4

from odoo import fields, models

from .. import const


class G2PFilesPaymentManagerIssue(models.Model):
    """Chunk jobs issue their planned payments and batches in bulk.

    The real base's ``_prepare_payments`` creates payments one at a time
    (two creates and three writes per payment); a chunk already knows which
    entitlements form which batch, so it makes them in two creates. The
    records are those the bases make: same names, amounts, account number
    snapshot, batch fields and links.
    """

    _inherit = "g2p.program.payment.manager.file"

    def _issue_planned_payments(self, cycle, plan):
        """(payments, batches) of ``plan``: [[tag id or False, [entitlement
        ids]], ...], one group per batch (no batch for a group without tag).

        Entitlements that meanwhile stopped being payable (no longer
        approved, or paid by a payment that has not failed) are left out.
        """
        self.ensure_one()
        Entitlement = self.env["g2p.entitlement"]
        groups = []
        for tag_id, ids in plan or []:
            entitlements = Entitlement.browse(ids).exists()
            # One query for every status and account number of the group.
            entitlements.mapped("payment_ids.status")
            entitlements.mapped("partner_id.bank_ids.acc_number")
            payable = entitlements.filtered(
                lambda e: (
                    e.state == const.ENTITLEMENT_STATE_APPROVED
                    and all(
                        p.status == const.PAYMENT_STATUS_FAILED for p in e.payment_ids
                    )
                )
            )
            if payable:
                groups.append((tag_id if self.create_batch else False, payable))
        now = fields.Datetime.now()
        batches = self.env["g2p.payment.batch"].create(
            [
                {
                    "name": str(uuid4()),
                    "cycle_id": cycle.id,
                    "stats_datetime": now,
                    "tag_id": tag_id,
                }
                for tag_id, _payable in groups
                if tag_id
            ]
        )
        batch_iter = iter(batches)
        group_batches = [next(batch_iter) if tag_id else None for tag_id, _p in groups]
        payments = self.env["g2p.payment"].create(
            [
                self._planned_payment_vals(entitlement, batch)
                for (_tag, payable), batch in zip(groups, group_batches, strict=True)
                for entitlement in payable
            ]
        )
        # Both bases also list a batch's payments in a many2many; payments
        # were created group after group.
        start = 0
        for (_tag, payable), batch in zip(groups, group_batches, strict=True):
            end = start + len(payable)
            if batch:
                batch.payment_ids = [fields.Command.set(payments[start:end].ids)]
            start = end
        return payments, batches

    def _planned_payment_vals(self, entitlement, batch):
        return {
            "name": str(uuid4()),
            "entitlement_id": entitlement.id,
            "cycle_id": entitlement.cycle_id.id,
            "amount_issued": entitlement.initial_amount,
            "payment_fee": entitlement.transfer_fee,
            "state": const.PAYMENT_STATE_ISSUED,
            # The beneficiary's first bank account at issue time, as the bases.
            "account_number": entitlement.partner_id.bank_ids[:1].acc_number or False,
            "batch_id": batch.id if batch else False,
        }
