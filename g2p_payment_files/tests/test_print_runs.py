import base64
import io
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from .. import const
from ..vouchers import pdf, sheets
from .common import FilePaymentCase

LIGHT_TEMPLATE = "<html><body><p>Voucher <t t-out='object.name'/></p></body></html>"
MM = 72 / 25.4


def _pages(stored):
    reader = pdf.PdfReader(io.BytesIO(base64.b64decode(stored.data)))
    return reader.pages


@tagged("post_install", "-at_install")
class TestPrintRuns(FilePaymentCase):
    """Several vouchers per A4 page: each voucher is one cut piece, and each
    batch (or run without batches) gets one PDF of sheets to print."""

    ENTITLEMENT_COUNT = 5

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.file_config.write({"body_string": LIGHT_TEMPLATE, "vouchers_per_page": "4"})

    def _batched(self, max_batch_size=3):
        self.manager.write(
            {
                "create_batch": True,
                "batch_tag_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "name": "Vouchers",
                            "order": 1,
                            "domain": "[]",
                            "max_batch_size": max_batch_size,
                            "render_files_per_payment": True,
                            "file_config_ids": [Command.set(self.file_config.ids)],
                        }
                    ),
                ],
            }
        )

    def test_each_batch_gets_a_print_run_of_its_vouchers_four_per_a4_sheet(self):
        self._batched(max_batch_size=3)
        self.cycle.prepare_payment()
        payments = self.payments()
        batches = payments.batch_id
        self.assertEqual(len(batches), 2)
        runs = self.cycle.voucher_print_run_ids
        self.assertEqual(len(runs), 2)
        for batch in batches:
            # The batch's Files page has its print run; payments keep theirs.
            [run] = batch.payment_file_ids
            self.assertIn(run, runs)
            self.assertIn("print-run", run.name)
            self.assertEqual(run.g2p_print_run_cycle_id, self.cycle)
            pages = _pages(run)
            self.assertEqual(len(pages), 1)  # 3 or 2 vouchers: one sheet
            self.assertAlmostEqual(float(pages[0].mediabox.width), 210 * MM, 0)
            text = "".join(pages[0].extract_text().split())
            for payment in batch.payment_ids:
                self.assertIn(payment.name, text)
        for payment in payments:
            self.assertEqual(len(payment.payment_file_ids), 1)
            [page] = _pages(payment.payment_file_ids)
            width, height = sheets.voucher_size_mm(4)
            self.assertAlmostEqual(float(page.mediabox.width), width * MM, delta=1.5)
            self.assertAlmostEqual(float(page.mediabox.height), height * MM, delta=1.5)

    def test_without_batches_a_run_gets_one_print_run_on_the_cycle(self):
        self.cycle.prepare_payment()
        [run] = self.cycle.voucher_print_run_ids
        pages = _pages(run)
        self.assertEqual(len(pages), 2)  # 5 vouchers, 4 per sheet
        self.assertIn("sheet 2 of 2", pages[1].extract_text())
        for payment in self.payments():
            self.assertNotIn(run, payment.payment_file_ids)

    def test_a_run_rendered_in_slices_keeps_one_print_run_and_one_file_each(self):
        Config = type(self.env["g2p.payment.file.config"])
        real = Config._entries_to_files
        sizes = []

        def counting(config, entries):
            sizes.append(len(entries))
            return real(config, entries)

        with (
            patch.object(const, "VOUCHER_RENDER_SLICE", 2),
            patch.object(Config, "_entries_to_files", counting),
        ):
            self.cycle.prepare_payment()
        self.assertEqual(sizes, [2, 2, 1])
        payments = self.payments()
        self.assertEqual(len(payments), 5)
        for payment in payments:
            self.assertEqual(len(payment.payment_file_ids), 1)
        [run] = self.cycle.voucher_print_run_ids
        text = "".join(page.extract_text() for page in _pages(run))
        for payment in payments:
            self.assertIn(payment.name, "".join(text.split()))

    def test_each_chunk_job_makes_the_print_runs_of_its_own_batches(self):
        self._batched(max_batch_size=2)
        self.manager.voucher_chunk_size = 2
        chunks = self.manager._plan_voucher_chunks(self.cycle)
        self.assertEqual(len(chunks), 3)
        for chunk in chunks:
            chunk._run()
        self.assertEqual(chunks.mapped("state"), ["done"] * 3)
        batches = self.payments().batch_id
        self.assertEqual(len(batches), 3)
        self.assertEqual(len(self.cycle.voucher_print_run_ids), 3)
        for batch in batches:
            self.assertEqual(len(batch.payment_file_ids), 1)

    def test_one_voucher_per_page_and_csv_files_make_no_print_run(self):
        self.file_config.vouchers_per_page = "1"
        self.cycle.prepare_payment()
        self.assertFalse(self.cycle.voucher_print_run_ids)
        [page] = _pages(self.payments()[0].payment_file_ids)
        self.assertAlmostEqual(float(page.mediabox.width), 210 * MM, delta=1.5)
        csv_cycle = self.create_cycle("CSV cycle")
        self.create_entitlements(csv_cycle, self.registrants)
        self.file_config.write(
            {
                "type": "csv",
                "vouchers_per_page": "4",
                "body_string": "<t t-out='object.name'/>",
            }
        )
        csv_cycle.prepare_payment()
        self.assertFalse(csv_cycle.voucher_print_run_ids)
        self.assertEqual(self.file_config._vouchers_per_sheet(), 1)

    def test_the_config_form_shows_the_voucher_page_size_of_its_layout(self):
        self.assertEqual(
            self.file_config.voucher_page_size, "95 x 138.5 mm, margins 5 mm"
        )
        self.file_config.vouchers_per_page = "1"
        self.assertIn("A4", self.file_config.voucher_page_size)
