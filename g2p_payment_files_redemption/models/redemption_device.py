"""A device of a redemption point, with the API key an officer issues to it."""

from odoo import _, api, fields, models

from ..redemption import keys


class G2PRedemptionDevice(models.Model):
    _name = "g2p.redemption.device"
    _inherit = ["mail.thread"]
    _description = "Voucher Redemption Device"
    _order = "point_id, name"

    name = fields.Char(required=True, tracking=True, help="E.g. the phone's owner.")
    point_id = fields.Many2one(
        "g2p.redemption.point", required=True, ondelete="cascade", index=True
    )
    active = fields.Boolean(default=True, tracking=True)
    key_id = fields.Char("Key ID", readonly=True, copy=False, index=True)
    # Only a hash of the key's secret: the key itself is shown once.
    key_hash = fields.Char(readonly=True, copy=False, groups="base.group_system")
    key_issued_at = fields.Datetime(readonly=True, copy=False)
    key_issued_by = fields.Many2one("res.users", readonly=True, copy=False)
    has_key = fields.Boolean(compute="_compute_has_key")

    _sql_constraints = [
        ("key_id_unique", "unique(key_id)", "Two devices cannot share a key."),
    ]

    @api.depends("key_id")
    def _compute_has_key(self):
        for device in self:
            device.has_key = bool(device.key_id)

    def action_issue_key(self):
        """A new key for the device (the old one stops working); shown once."""
        self.ensure_one()
        key_id, key, key_hash = keys.new_key()
        self.sudo().write(
            {
                "key_id": key_id,
                "key_hash": key_hash,
                "key_issued_at": fields.Datetime.now(),
                "key_issued_by": self.env.uid,
            }
        )
        self.message_post(
            body=_(
                "%(user)s issued a new key (ID %(key)s).",
                user=self.env.user.name,
                key=key_id,
            )
        )
        wizard = self.env["g2p.redemption.device.key"].create(
            {"device_id": self.id, "key": key}
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Key of %(device)s", device=self.display_name),
            "res_model": "g2p.redemption.device.key",
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_revoke_key(self):
        for device in self:
            device.sudo().write({"key_id": False, "key_hash": False})
            device.message_post(
                body=_("%(user)s revoked the device's key.", user=self.env.user.name)
            )

    @api.model
    def _authenticate(self, key):
        """The active device of an active point holding ``key``, else empty."""
        key_id, secret = keys.split(key)
        if not key_id:
            return self.browse()
        # One query on every device request (the ORM would take three).
        self.flush_model(["key_id", "key_hash", "active", "point_id"])
        self.env["g2p.redemption.point"].flush_model(["active"])
        self.env.cr.execute(
            "SELECT d.id, d.key_hash, d.point_id FROM g2p_redemption_device d "
            "JOIN g2p_redemption_point p ON p.id = d.point_id "
            "WHERE d.key_id = %s AND d.active AND p.active",
            (key_id,),
        )
        row = self.env.cr.fetchone()
        if not (row and keys.matches(secret, row[1])):
            return self.browse()
        device = self.browse(row[0])
        # Its point as read above, not another query for every field of it.
        self.env.cache.update(device, self._fields["point_id"], [row[2]])
        return device
