from odoo import fields, models


class G2PPayment(models.Model):
    _inherit = "g2p.payment"

    # The voucher's entry in the published status list (its "status.status_list.idx"
    # claim); vouchers signed before this addon have none.
    voucher_status_idx = fields.Integer(
        "Status List Index", readonly=True, copy=False, index=True
    )
    redemption_ids = fields.One2many(
        "g2p.voucher.redemption", "payment_id", "Redemptions", readonly=True
    )

    def init(self):
        # From 1: the ORM reads a missing index as 0.
        self.env.cr.execute(
            "CREATE SEQUENCE IF NOT EXISTS g2p_voucher_status_idx_seq "
            "MINVALUE 1 START 1"
        )

    def _voucher_status_indexes(self):
        """{payment id: index}, taking new indexes for payments without one."""
        self.flush_recordset(["voucher_status_idx"])
        missing = self.filtered(lambda p: not p.voucher_status_idx and p.id)
        if missing:
            # One statement for a whole chunk; written in SQL: the index is set
            # by the system once and is no officer's business.
            self.env.cr.execute(
                "UPDATE g2p_payment SET voucher_status_idx = "
                "nextval('g2p_voucher_status_idx_seq') "
                "WHERE id IN %s AND voucher_status_idx IS NULL",
                (tuple(missing.ids),),
            )
            missing.invalidate_recordset(["voucher_status_idx"])
        return {p.id: p.voucher_status_idx for p in self}
