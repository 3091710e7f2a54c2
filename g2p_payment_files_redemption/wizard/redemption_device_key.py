from odoo import fields, models


class G2PRedemptionDeviceKey(models.TransientModel):
    """Shows a device's new key once (kept only as a hash afterwards)."""

    _name = "g2p.redemption.device.key"
    _description = "New Redemption Device Key"

    device_id = fields.Many2one("g2p.redemption.device", required=True, readonly=True)
    key = fields.Char(readonly=True)
