from odoo import fields, models


class StorageFilePrintRun(models.Model):
    _inherit = "storage.file"  # pylint: disable=consider-merging-classes-inherited

    # Set on a print run's own row when it is made: chunk jobs of one cycle
    # run in parallel, and linking from the cycle's side would make them all
    # update (and wait on) the same cycle row.
    g2p_print_run_cycle_id = fields.Many2one(
        "g2p.cycle",
        string="Print Run of Cycle",
        ondelete="set null",
        index="btree_not_null",
        readonly=True,
    )
