"""Print runs: N voucher pages per A4 sheet, unscaled, with cut marks."""

import io
import re
import shutil
import subprocess

import pytest

from g2p_payment_files.vouchers import pdf, sheets
from g2p_payment_files.vouchers.errors import RenderError

pypdf = pytest.importorskip("pypdf")
from pypdf.generic import (  # noqa: E402
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
)

MM = 72 / 25.4
A4 = (595.28, 841.89)


def voucher_pdf(label, size_mm, pages=1):
    """A PDF of ``pages`` pages of ``size_mm`` showing ``label`` (Helvetica)."""
    writer = pypdf.PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for page_no in range(pages):
        page = writer.add_blank_page(size_mm[0] * MM, size_mm[1] * MM)
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/Font"): DictionaryObject({NameObject("/F1"): font}),
            }
        )
        stream = DecodedStreamObject()
        stream.set_data(
            b"BT /F1 12 Tf 20 40 Td (%s p%d) Tj ET" % (label.encode(), page_no + 1)
        )
        page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def reader(data):
    return pypdf.PdfReader(io.BytesIO(data))


def sheet_ops(page):
    return page.get_contents().get_data()


@pytest.mark.parametrize(
    "per_sheet, size",
    [(1, (190.0, 277.0)), (2, (190.0, 138.5)), (4, (95.0, 138.5)), (8, (95.0, 69.25))],
)
def test_a_voucher_is_one_cell_of_the_sheet_inside_its_margins(per_sheet, size):
    assert sheets.voucher_size_mm(per_sheet) == size
    columns, rows = sheets.GRIDS[per_sheet]
    assert columns * rows == per_sheet
    assert size[0] * columns + 2 * sheets.SHEET_MARGIN_MM == 210
    assert size[1] * rows + 2 * sheets.SHEET_MARGIN_MM == 297


def test_one_voucher_per_page_keeps_wkhtmltopdf_defaults():
    assert sheets.wkhtmltopdf_options(1) == {}
    options = sheets.wkhtmltopdf_options(4)
    assert options["page-width"] == "95mm"
    assert options["page-height"] == "138.5mm"
    assert options["margin-top"] == options["margin-left"] == "5mm"


@pytest.mark.parametrize("bad", [0, 3, 16, "x", None])
def test_a_count_without_a_layout_is_refused_naming_the_choices(bad):
    with pytest.raises(RenderError, match="1, 2, 4, 8"):
        sheets.voucher_size_mm(bad)


def test_ten_vouchers_four_per_sheet_fill_three_sheets_in_order():
    size = sheets.voucher_size_mm(4)
    vouchers = [voucher_pdf("Voucher %02d" % i, size) for i in range(10)]
    run = reader(sheets.impose(vouchers, 4, caption="Batch 7"))
    assert len(run.pages) == 3
    for page in run.pages:
        assert [round(float(v), 1) for v in page.mediabox[2:]] == [595.3, 841.9]
    forms = [len(page["/Resources"]["/XObject"]) for page in run.pages]
    assert forms == [4, 4, 2]
    text = "\n".join(page.extract_text() for page in run.pages)
    assert [int(n) for n in re.findall(r"Voucher (\d+)", text)] == list(range(10))
    assert "Batch 7 - sheet 1 of 3" in text
    assert "sheet 3 of 3" in text


def test_vouchers_of_the_cell_size_are_placed_unscaled_in_the_grid():
    size = sheets.voucher_size_mm(4)
    run = reader(sheets.impose([voucher_pdf("V", size)] * 4, 4, cut_marks=False))
    placements = re.findall(
        rb"q ([\d.]+) 0 0 ([\d.]+) ([\d.]+) ([\d.]+) cm /G2PV\d Do Q",
        sheet_ops(run.pages[0]),
    )
    assert len(placements) == 4
    assert {(float(a), float(d)) for a, d, _x, _y in placements} == {(1.0, 1.0)}
    margin = sheets.SHEET_MARGIN_MM * MM
    xs = sorted({round(float(x), 1) for _a, _d, x, _y in placements})
    ys = sorted({round(float(y), 1) for _a, _d, _x, y in placements})
    assert xs == [round(margin, 1), round(margin + size[0] * MM, 1)]
    assert ys == [round(margin, 1), round(margin + size[1] * MM, 1)]


def test_a_larger_page_is_scaled_down_to_fit_its_cell():
    run = reader(sheets.impose([voucher_pdf("A4", (210, 297))], 8, cut_marks=False))
    [scale] = re.findall(rb"q ([\d.]+) 0 0 [\d.]+ ", sheet_ops(run.pages[0]))
    assert float(scale) == pytest.approx(69.25 / 297, abs=1e-4)


def test_cut_marks_are_drawn_along_every_cut_and_where_inner_cuts_meet():
    size = sheets.voucher_size_mm(4)
    run = reader(sheets.impose([voucher_pdf("V", size)], 4))
    lines = re.findall(rb"[\d.]+ [\d.]+ m [\d.]+ [\d.]+ l S", sheet_ops(run.pages[0]))
    # 3 vertical cuts x 2 ends + 3 horizontal cuts x 2 ends + 1 cross (2 lines)
    assert len(lines) == 14
    plain = reader(sheets.impose([voucher_pdf("V", size)], 4, cut_marks=False))
    assert b" l S" not in sheet_ops(plain.pages[0])


def test_every_page_of_a_two_page_voucher_takes_a_cell():
    size = sheets.voucher_size_mm(2)
    run = reader(sheets.impose([voucher_pdf("Long", size, pages=2)] * 2, 2))
    assert len(run.pages) == 2
    assert "Long p2" in run.pages[0].extract_text()


def test_nothing_to_print_and_broken_pdfs_are_render_errors():
    with pytest.raises(RenderError, match="at least one voucher"):
        sheets.impose([], 4)
    with pytest.raises(RenderError, match="cannot be read"):
        sheets.impose([b"not a pdf"], 4)


def test_a_caption_outside_latin_1_still_prints():
    size = sheets.voucher_size_mm(2)
    run = reader(sheets.impose([voucher_pdf("V", size)], 2, caption="Zoë – 北京"))
    assert "Zoë" in run.pages[0].extract_text()


@pytest.mark.skipif(not shutil.which("wkhtmltopdf"), reason="wkhtmltopdf missing")
def test_vouchers_rendered_at_the_cell_size_make_a_print_run_poppler_reads():
    html = "<html><body><h1>Voucher %d</h1></body></html>"
    vouchers = pdf.htmls_to_pdfs(
        [html % i for i in range(5)], sheets.wkhtmltopdf_options(4)
    )
    width, height = sheets.voucher_size_mm(4)
    box = reader(vouchers[0]).pages[0].mediabox
    assert float(box.width) == pytest.approx(width * MM, abs=1.5)
    assert float(box.height) == pytest.approx(height * MM, abs=1.5)
    run = sheets.impose(vouchers, 4)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=run, capture_output=True, check=True
        ).stdout.decode()
        assert [int(n) for n in re.findall(r"Voucher (\d)", text)] == [0, 1, 2, 3, 4]
