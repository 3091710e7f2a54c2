import base64
import mimetypes

from odoo import api, fields, models


class StorageFile(models.Model):
    _name = "storage.file"
    _description = "Stored Document"
    _order = "id desc"

    name = fields.Char(required=True, index=True)
    backend_id = fields.Many2one(
        "storage.backend", "Store", required=True, index=True, ondelete="restrict"
    )
    data = fields.Binary(attachment=True)
    mimetype = fields.Char(compute="_compute_mimetype", store=True, readonly=False)
    file_size = fields.Integer(compute="_compute_file_size", store=True)
    res_model = fields.Char("Resource Model", index=True)
    res_id = fields.Many2oneReference(
        "Resource ID", model_field="res_model", index=True
    )
    entitlement_id = fields.Many2one("g2p.entitlement", index=True)
    url = fields.Char("Download URL", compute="_compute_url")

    @api.depends("name")
    def _compute_mimetype(self):
        for rec in self:
            guessed = mimetypes.guess_type(rec.name or "")[0]
            rec.mimetype = guessed or "application/octet-stream"

    @api.depends("data")
    def _compute_file_size(self):
        for rec in self.with_context(bin_size=False):
            rec.file_size = len(base64.b64decode(rec.data)) if rec.data else 0

    def _compute_url(self):
        for rec in self:
            rec.url = (
                "/web/content/storage.file/%s/data/%s?download=true"
                % (rec.id, rec.name)
                if rec.id
                else False
            )

    def get_content(self):
        """Raw bytes of the stored file."""
        self.ensure_one()
        data = self.with_context(bin_size=False).data
        return base64.b64decode(data) if data else b""

    def get_record(self):
        self.ensure_one()
        return {"mimetype": self.mimetype, "name": self.name, "url": self.url or "#"}
