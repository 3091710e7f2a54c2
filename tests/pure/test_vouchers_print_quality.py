"""Small vouchers that still scan: the demo template's QR code read by zbar
from 150 and 300 dpi renderings of the PDF at every QR error-correction
level a config offers, its Code-128 from the 300 dpi one (a 36-character
reference is too dense for zbar at 150 dpi on an A6 page, as before); the QR
image is stored as the exact 1-bit image (not a JPEG), the fonts' name
tables are cut, and the file is at most 20 KB."""

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from g2p_payment_files.vouchers import codes, lossless, pdf, split_qpdf

pytestmark = pytest.mark.skipif(
    not (shutil.which("wkhtmltopdf") and shutil.which("pdftoppm")),
    reason="needs wkhtmltopdf and poppler-utils",
)
pyzbar = pytest.importorskip("pyzbar.pyzbar")
Image = pytest.importorskip("PIL.Image")
PdfReader = pytest.importorskip("pypdf").PdfReader

DEMO = (Path(__file__).resolve().parents[2] / "setup" / "demo_voucher.html").read_text()
STYLE = re.search(r"<style>.*?</style>", DEMO, re.DOTALL).group(0)
OPTIONS = {"page-size": "A6"} | {
    f"margin-{s}": "6mm" for s in ("top", "bottom", "left", "right")
}
# A signed ES256 JWT's length, as the demo's vouchers carry.
PAYLOAD = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImRlbW8ifQ." + "A1b2C3d4" * 40 + ".sig" * 20


def demo_page(qr_uri, reference):
    """The demo template's page, filled in as QWeb would."""
    bar = codes.svg_data_uri(codes.code128_svg(reference))
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"/>{STYLE}</head><body>'
        '<div class="card"><h1>Payment voucher</h1>'
        '<div class="muted">Cash Program - Cycle 1<br/>Issued by Agency</div>'
        '<table class="facts"><tr><td class="key">Beneficiary</td>'
        "<td><b>Amina Wanjiru</b></td></tr>"
        f'<tr><td class="key">Reference</td><td class="ref">{reference}</td></tr>'
        "</table>"
        f'<table class="signed"><tr><td><img style="width: 170px;" src="{qr_uri}"/>'
        "</td><td>Signed 7 Dec 2026</td></tr></table>"
        f'<img style="width: 100%; margin-top: 6px;" src="{bar}"/>'
        "</div></body></html>"
    )


def scanned(data, dpi, tmp_path):
    path = tmp_path / f"voucher-{dpi}.pdf"
    path.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(path), str(path)],
        check=True,
        timeout=60,
    )
    with Image.open(f"{path}.png") as image:
        return {(found.type, found.data.decode()) for found in pyzbar.decode(image)}


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_demo_voucher_codes_scan_at_150_and_300_dpi_from_a_small_file(tmp_path, level):
    references = [f"0b7c{n:04d}-5d2e-4f7a-9c1b-{n:012d}" for n in range(3)]
    payloads = [PAYLOAD + str(n) for n in range(3)]
    htmls = [
        demo_page(codes.qr_png_uri(text, error_correction=level), ref)
        for text, ref in zip(payloads, references, strict=True)
    ]
    pdfs = pdf.htmls_to_pdfs(htmls, OPTIONS)
    for text, ref, data in zip(payloads, references, pdfs, strict=True):
        assert ("QRCODE", text) in scanned(data, 150, tmp_path)
        assert scanned(data, 300, tmp_path) == {("QRCODE", text), ("CODE128", ref)}
        resources = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]
        images = [x.get_object() for x in resources["/XObject"].values()]
        assert [(i["/Filter"], i["/BitsPerComponent"]) for i in images] == [
            ("/FlateDecode", 1)
        ]
        assert len(data) <= 20_000, len(data)


@pytest.mark.skipif(split_qpdf.pikepdf is None, reason="pikepdf is not installed")
def test_images_of_the_same_size_are_told_apart_by_their_pixels(tmp_path):
    one, two = codes.qr_png_uri("G2P:ONE"), codes.qr_png_uri("G2P:TWO")
    # The same size as the QR codes, but a plain PNG (no wrapper): not ours.
    plain = codes.png_data_uri(codes.qr_png("G2P:PLAIN", box_size=2))
    html = demo_page(one, "REF-00000001").replace(
        "<td>Signed", f'<td><img src="{two}"/><img src="{plain}"/>Signed'
    )
    raw = pdf._run(html, OPTIONS)  # noqa: SLF001 - the render before the swap
    document = split_qpdf.pikepdf.open(io.BytesIO(raw))
    assert lossless.restore_bitmaps(document.pages, lossless.bitmaps_in_html(html)) == 2
    filters = sorted(
        str(x.Filter) for x in document.pages[0].Resources.XObject.values()
    )
    assert filters == ["/DCTDecode", "/FlateDecode", "/FlateDecode"]
    data = pdf.htmls_to_pdfs([html, html.replace("REF", "FER")], OPTIONS)[0]
    found = {text for kind, text in scanned(data, 300, tmp_path) if kind == "QRCODE"}
    assert found == {"G2P:ONE", "G2P:TWO", "G2P:PLAIN"}


def test_without_pikepdf_vouchers_are_split_by_pypdf_as_before(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "pikepdf", None)
    refs = [f"REF-{n:08d}" for n in range(2)]
    htmls = [demo_page(codes.qr_png_uri(f"G2P:{n}"), ref) for n, ref in enumerate(refs)]
    pdfs = pdf.htmls_to_pdfs(htmls, OPTIONS)
    for n, data in enumerate(pdfs):
        assert scanned(data, 300, tmp_path) == {
            ("QRCODE", f"G2P:{n}"),
            ("CODE128", refs[n]),
        }
        resources = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]
        [image] = [x.get_object() for x in resources["/XObject"].values()]
        assert image["/Filter"] == "/DCTDecode"


@pytest.mark.skipif(lossless.TTFont is None, reason="fontTools is not installed")
def test_font_name_tables_keep_the_copyright_and_the_names_a_pdf_needs():
    data = pdf.html_to_pdf(demo_page(codes.qr_png_uri("G2P:FONT"), "R2"), OPTIONS)
    fonts = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values()
    for ref in fonts:
        font = ref.get_object()
        if "/DescendantFonts" in font:
            font = font["/DescendantFonts"][0].get_object()
        raw = font["/FontDescriptor"]["/FontFile2"].get_data()
        names = lossless.TTFont(io.BytesIO(raw))["name"]
        assert {n.nameID for n in names.names} <= set(range(7))
        assert "DejaVu" in str(names.getName(1, 3, 1))
        assert "Copyright" in str(names.getName(0, 3, 1))
