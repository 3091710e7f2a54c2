from odoo import fields, models


class G2PPaymentBatchTag(models.Model):
    _inherit = "g2p.payment.batch.tag"

    render_files_per_payment = fields.Boolean(
        string="Render per payment instead of batch",
        help="On: one voucher per payment of the tag's batches; off: one per batch.",
    )
    file_config_ids = fields.Many2many(
        "g2p.payment.file.config", string="Payment File Configs"
    )
