import base64
import uuid

from odoo import _, fields, models
from odoo.exceptions import UserError


class StorageBackend(models.Model):
    """A document store. The stand-in only knows Odoo's own filestore."""

    _name = "storage.backend"
    _description = "Document Store"
    _order = "name, id"

    name = fields.Char(required=True)
    backend_type = fields.Selection(
        [("filestore", "Odoo filestore")], default="filestore", required=True
    )
    file_ids = fields.One2many("storage.file", "backend_id", "Files")
    file_count = fields.Integer(compute="_compute_file_count")

    def _compute_file_count(self):
        counts = dict(
            self.env["storage.file"]._read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
            )
        )
        for backend in self:
            backend.file_count = counts.get(backend, 0)

    def _gen_random_name(self):
        return str(uuid.uuid4())

    def _file_vals(self, data, name=None, extension=None, **kwargs):
        if data is None:
            raise UserError(
                _(
                    "Document store %(store)s: nothing to store (no data).",
                    store=self.name,
                )
            )
        if isinstance(data, str):
            data = data.encode()
        name = name or self._gen_random_name()
        if extension:
            name += extension if extension.startswith(".") else "." + extension
        return dict(kwargs, name=name, backend_id=self.id, data=base64.b64encode(data))

    def add_file(self, data, name=None, extension=None, **kwargs):
        """Store raw ``data`` (bytes or str) and return the new storage.file.

        ``extension`` is appended to the name (".pdf" or "pdf"); extra keyword
        arguments are written on the file (e.g. res_model, res_id).
        """
        self.ensure_one()
        return self.env["storage.file"].create(
            self._file_vals(data, name=name, extension=extension, **kwargs)
        )

    def add_files(self, items):
        """Bulk add_file: ``items`` are dicts of add_file keyword arguments
        (``data`` required). One create for all; files come back in order."""
        self.ensure_one()
        return self.env["storage.file"].create(
            [self._file_vals(**item) for item in items]
        )

    def open_store_files_tree(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_program_documents.action_storage_file"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action
