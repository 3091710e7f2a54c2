import base64
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path
from unittest.mock import patch

from odoo.tests import tagged

from ..vouchers import pdf as voucher_pdf
from ..vouchers.verify import verify_payload
from .common import FilePaymentCase

try:
    import zxingcpp
    from PIL import Image
except ImportError:  # pragma: no cover - optional round-trip tooling
    zxingcpp = None


@tagged("post_install", "-at_install")
class TestVoucherFiles(FilePaymentCase):
    def test_all_vouchers_of_a_run_share_one_wkhtmltopdf_process(self):
        real_run = voucher_pdf._run
        with patch.object(voucher_pdf, "_run", side_effect=real_run) as run:
            self.cycle.prepare_payment()
        self.assertEqual(run.call_count, 1)
        files = self.payments().payment_file_ids
        self.assertEqual(len(files), self.ENTITLEMENT_COUNT)
        # Each payment got its own single-voucher PDF out of the shared run.
        datas = {base64.b64decode(f.data) for f in files}
        self.assertEqual(len(datas), self.ENTITLEMENT_COUNT)

    @unittest.skipUnless(
        zxingcpp and shutil.which("pdftoppm"), "needs zxing-cpp, Pillow and pdftoppm"
    )
    def test_printed_voucher_qr_code_scans_to_a_verifiable_payload(self):
        self.cycle.prepare_payment()
        payment = self.payments()[:1]
        pdf_data = base64.b64decode(payment.payment_file_ids.data)
        with tempfile.TemporaryDirectory() as tmp:
            pdf_path = Path(tmp, "voucher.pdf")
            pdf_path.write_bytes(pdf_data)
            subprocess.run(
                ["pdftoppm", "-r", "200", "-png", str(pdf_path), str(Path(tmp, "p"))],
                check=True,
                timeout=60,
            )
            scanned = set()
            for page in sorted(Path(tmp).glob("p*.png")):
                with Image.open(page) as image:
                    scanned |= {r.text for r in zxingcpp.read_barcodes(image)}
        codes = {
            qr.qrcode_config_id.name: qr.data
            for qr in payment.qrcode_ids
            if qr.qrcode_config_id.type == "qrcode"
        }
        self.assertEqual(set(codes), {"jwt", "cwt"})
        self.assertLessEqual(set(codes.values()), scanned)
        # The shared wkhtmltopdf run was split right: no other payment's codes.
        others = self.payments() - payment
        self.assertFalse(set(others.qrcode_ids.mapped("data")) & scanned)
        claims = verify_payload(codes["jwt"], self.jwks())
        self.assertEqual(claims["payment"], payment.name)
