import base64

from odoo import _, api, fields, models
from odoo.tools import SQL


class G2PFilesPaymentManagerStore(models.Model):
    """Storing a slice of rendered vouchers: one create and one link for all.

    One ``add_file`` and one many2many write per voucher cost more than
    rendering it (tests/bench/bench_cycle_odoo.py --profile).
    """

    _inherit = "g2p.program.payment.manager.file"

    @api.model
    def _store_files(self, store, items):
        """A storage.file in ``store`` per (data, name, extension) of ``items``,
        in order, made by one create.

        The values are those both bases' ``storage.backend.add_file`` writes
        (name with its extension, base64 data); its per-file create is what
        this avoids.
        """
        vals_list = []
        for data, name, extension in items:
            if isinstance(data, str):
                data = data.encode()
            vals_list.append(
                {
                    "name": name + extension,
                    "backend_id": store.id,
                    "data": base64.b64encode(data),
                }
            )
        return store.env["storage.file"].create(vals_list)

    @api.model
    def _link_files(self, records, files):
        """Add ``files[i]`` to the Payment Files of ``records[i]``.

        ``records``: payments or batches (one model), as a list; a record may
        come several times (one file per config). One INSERT instead of one
        ORM write per voucher: nothing is computed from the relation, and the
        rows' caches are dropped right after.
        """
        if not records:
            return
        model = records[0]
        field = model._fields["payment_file_ids"]
        pairs = [
            SQL("(%s, %s)", record.id, stored.id)
            for record, stored in zip(records, files, strict=True)
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

    def _store_slice_files(self, entries, datas, store, runs):
        """Store the documents of a slice (``entries``: (config, record, text),
        ``datas``: their bytes) and link each to its record; PDFs printed
        several per sheet are kept in ``runs`` per (config id, batch id)."""
        files = self._store_files(
            store,
            [
                (data, file_config._file_name(record), "." + file_config.type)
                for (file_config, record, _text), data in zip(
                    entries, datas, strict=True
                )
            ],
        )
        self._link_files([record for _config, record, _text in entries], files)
        for (file_config, record, _text), data in zip(entries, datas, strict=True):
            if file_config._vouchers_per_sheet() > 1:
                batch = (
                    record if record._name == "g2p.payment.batch" else record.batch_id
                )
                runs.setdefault((file_config.id, batch.id), []).append(
                    ((record._name, record.id), data)
                )

    def _store_print_runs(self, runs, store):
        """One PDF of A4 sheets per batch (per run without batches) for each
        file config laid out with several vouchers per page; ``runs`` maps
        (config id, batch id) to the ((model, id), PDF) of its vouchers."""
        for (config_id, batch_id), items in runs.items():
            file_config = self.env["g2p.payment.file.config"].browse(config_id)
            batch = self.env["g2p.payment.batch"].browse(batch_id)
            model, first_id = items[0][0]
            first = self.env[model].browse(first_id)
            cycle = first.cycle_id
            caption = " - ".join(
                part
                for part in (
                    self.program_id.name,
                    cycle.name,
                    batch.name if batch else None,
                    _("%(count)s vouchers", count=len(items)),
                )
                if part
            )
            label = "print-run-%s" % (batch.name if batch else first.name)
            [stored] = self._store_files(
                store,
                [
                    (
                        file_config._print_run([data for _rec, data in items], caption),
                        file_config._safe_file_name(label),
                        ".pdf",
                    )
                ],
            )
            stored.g2p_print_run_cycle_id = cycle
            if batch:
                batch.payment_file_ids = [fields.Command.link(stored.id)]
