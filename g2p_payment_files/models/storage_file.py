from odoo import models

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
