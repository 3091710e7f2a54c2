from odoo import models
from odoo.tools import SQL

from .. import const


class StorageFile(models.Model):
    _inherit = "storage.file"

    def _build_relative_path(self, checksum):
        # Only the real base's storage_file has this (the stand-in keeps files
        # in Odoo's filestore): files written by a voucher chunk job go in the
        # chunk's own folder, where a later run finds the ones an attempt that
        # died left behind.
        path = super()._build_relative_path(checksum)
        prefix = self.env.context.get(const.STORAGE_PREFIX_CONTEXT)
        if prefix and path:
            return "%s/%s" % (prefix, path.rsplit("/", 1)[-1])
        return path

    def _g2p_link_to(self, records):
        """Add ``self[i]`` to the Payment Files of ``records[i]``.

        ``records``: a list of payments or of batches (one model), a record
        possibly several times (one file per config). One INSERT instead of
        one ORM write per voucher: nothing is computed from the relation, and
        the records' caches of it are dropped.
        """
        if not records:
            return
        model = records[0]
        field = model._fields["payment_file_ids"]
        pairs = [
            SQL("(%s, %s)", record.id, stored.id)
            for record, stored in zip(records, self, strict=True)
        ]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "INSERT INTO %s (%s, %s) VALUES %s ON CONFLICT DO NOTHING",
                SQL.identifier(field.relation),
                SQL.identifier(field.column1),
                SQL.identifier(field.column2),
                SQL(", ").join(pairs),
            )
        )
        model.browse({record.id for record in records}).invalidate_recordset(
            ["payment_file_ids"]
        )
