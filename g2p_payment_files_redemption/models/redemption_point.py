from odoo import api, fields, models


class G2PRedemptionPoint(models.Model):
    """A shop, agent or service point that pays vouchers out."""

    _name = "g2p.redemption.point"
    _inherit = ["mail.thread"]
    _description = "Voucher Redemption Point"
    _order = "name"

    name = fields.Char(required=True, tracking=True)
    partner_id = fields.Many2one(
        "res.partner", "Operated By", tracking=True, help="The shop or agent."
    )
    location = fields.Char(tracking=True)
    program_ids = fields.Many2many(
        "g2p.program",
        string="Programs",
        tracking=True,
        help="The point redeems vouchers of these programs only.",
    )
    active = fields.Boolean(default=True, tracking=True)
    device_ids = fields.One2many("g2p.redemption.device", "point_id", "Devices")
    redemption_ids = fields.One2many(
        "g2p.voucher.redemption", "point_id", "Redemptions", readonly=True
    )
    redemption_count = fields.Integer(compute="_compute_redeemed")
    amount_redeemed = fields.Float(compute="_compute_redeemed")

    @api.depends("redemption_ids.amount")
    def _compute_redeemed(self):
        groups = self.env["g2p.voucher.redemption"]._read_group(
            [("point_id", "in", self.ids)],
            ["point_id"],
            ["__count", "amount:sum"],
        )
        found = {point.id: (count, amount) for point, count, amount in groups}
        for point in self:
            point.redemption_count, point.amount_redeemed = found.get(
                point.id, (0, 0.0)
            )

    def action_view_redemptions(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": "g2p.voucher.redemption",
            "view_mode": "tree,form",
            "domain": [("point_id", "=", self.id)],
        }
