from odoo import fields, models


class G2PPayment(models.Model):
    _inherit = "g2p.payment"

    qrcode_ids = fields.One2many(
        "g2p.payment.file.qrcode", "payment_id", string="QR Codes"
    )
    payment_file_ids = fields.Many2many("storage.file", string="Payment Files")
    voucher_by_files = fields.Boolean(related="cycle_id.voucher_by_files")
