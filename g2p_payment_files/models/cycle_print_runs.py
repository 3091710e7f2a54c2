from odoo import fields, models


class G2PCyclePrintRuns(models.Model):
    _inherit = "g2p.cycle"  # pylint: disable=consider-merging-classes-inherited

    # Print runs (several vouchers per A4 sheet) of the cycle's vouchers: one
    # per batch, or one per preparation run or job when there are no batches.
    voucher_print_run_ids = fields.One2many(
        "storage.file",
        "g2p_print_run_cycle_id",
        string="Print Runs",
        readonly=True,
    )
