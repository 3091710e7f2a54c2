"""Print runs: several voucher pages per A4 sheet, with cut marks.

Each voucher PDF is rendered at the size of one cell of the sheet (see
``voucher_size_mm``), so the voucher file kept for the record is exactly the
piece handed out after cutting.  ``impose`` then places the voucher pages
unscaled in the cells, as Form XObjects (no content stream is parsed, so a
page costs well under a millisecond), and draws cut marks in the sheet's
margins and crosses where inner cuts meet.  Nothing is rendered again.
"""

import io

from .errors import RenderError

try:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
    )
except ImportError:  # pragma: no cover - depends on the environment
    PdfReader = PdfWriter = None

A4_MM = (210.0, 297.0)
# Printers cannot print at the paper's edge; cut marks go in this margin.
SHEET_MARGIN_MM = 10.0
# Inside each voucher page, so a cut a little off never cuts into the text.
VOUCHER_MARGIN_MM = 5.0
# Vouchers per A4 sheet -> (columns, rows).
GRIDS = {1: (1, 1), 2: (1, 2), 4: (2, 2), 8: (2, 4)}
PER_SHEET_CHOICES = tuple(sorted(GRIDS))

_PT_PER_MM = 72.0 / 25.4
_MARK_GAP_MM = 2.0  # between a cell edge and its cut mark
_MARK_LENGTH_MM = 6.0
_CROSS_ARM_MM = 2.5
_MARK_WIDTH_PT = 0.3


def _grid(per_sheet: int):
    try:
        return GRIDS[int(per_sheet)]
    except (KeyError, TypeError, ValueError):
        raise RenderError(
            "%r vouchers per sheet is not a layout; use one of %s"
            % (per_sheet, ", ".join(str(n) for n in PER_SHEET_CHOICES))
        ) from None


def voucher_size_mm(per_sheet: int):
    """(width, height) in mm of one voucher page for this layout."""
    columns, rows = _grid(per_sheet)
    width = (A4_MM[0] - 2 * SHEET_MARGIN_MM) / columns
    height = (A4_MM[1] - 2 * SHEET_MARGIN_MM) / rows
    return round(width, 2), round(height, 2)


def wkhtmltopdf_options(per_sheet: int) -> dict:
    """wkhtmltopdf options rendering a voucher at its cell size; {} for one
    voucher per sheet (wkhtmltopdf's own A4 page, as before)."""
    if int(per_sheet) == 1:
        return {}
    width, height = voucher_size_mm(per_sheet)
    margin = "%gmm" % VOUCHER_MARGIN_MM
    return {
        "page-width": "%gmm" % width,
        "page-height": "%gmm" % height,
        "margin-top": margin,
        "margin-bottom": margin,
        "margin-left": margin,
        "margin-right": margin,
    }


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in the standard Latin-1 encoding of Helvetica."""
    raw = text.encode("latin-1", "replace")
    return (
        b"("
        + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        + b")"
    )


def _cut_marks(columns, rows) -> bytes:
    """Lines in the margins along every cut, crosses where inner cuts meet."""
    mm = _PT_PER_MM
    width, height = A4_MM[0] * mm, A4_MM[1] * mm
    margin = SHEET_MARGIN_MM * mm
    cell_w = (width - 2 * margin) / columns
    cell_h = (height - 2 * margin) / rows
    gap, length, arm = _MARK_GAP_MM * mm, _MARK_LENGTH_MM * mm, _CROSS_ARM_MM * mm
    lines = []
    for i in range(columns + 1):
        x = margin + i * cell_w
        lines.append((x, height - margin + gap, x, height - margin + gap + length))
        lines.append((x, margin - gap, x, margin - gap - length))
    for j in range(rows + 1):
        y = margin + j * cell_h
        lines.append((margin - gap, y, margin - gap - length, y))
        lines.append((width - margin + gap, y, width - margin + gap + length, y))
    for i in range(1, columns):
        for j in range(1, rows):
            x, y = margin + i * cell_w, margin + j * cell_h
            lines += [(x - arm, y, x + arm, y), (x, y - arm, x, y + arm)]
    ops = [b"q 0 G %.2f w" % _MARK_WIDTH_PT]
    ops += [b"%.2f %.2f m %.2f %.2f l S" % line for line in lines]
    ops.append(b"Q")
    return b"\n".join(ops)


def _caption(text: str) -> bytes:
    y = (SHEET_MARGIN_MM * _PT_PER_MM) / 2 - 3
    x = SHEET_MARGIN_MM * _PT_PER_MM
    return b"BT /G2PCaption 7 Tf %.2f %.2f Td %s Tj ET" % (x, y, _pdf_text(text))


def _page_content(page) -> bytes:
    contents = page.get("/Contents")
    if contents is None:
        return b""
    contents = contents.get_object()
    if isinstance(contents, ArrayObject):
        return b"\n".join(part.get_object().get_data() for part in contents)
    return contents.get_data()


def _form_xobject(writer, page):
    """The page as a Form XObject of ``writer`` (its resources copied over).

    Each voucher's copy of the fonts is kept: most of a voucher's bytes are
    its QR image anyway (wkhtmltopdf re-encodes it as RGB).
    """
    box = page.mediabox
    form = DecodedStreamObject()
    form.set_data(_page_content(page))
    resources = page.get("/Resources")
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(
                [FloatObject(v) for v in (box.left, box.bottom, box.right, box.top)]
            ),
            NameObject("/Resources"): resources.clone(writer)
            if resources is not None
            else DictionaryObject(),
        }
    )
    # pypdf's own way of adding an object (used by add_page and friends).
    return writer._add_object(form.flate_encode()), box


def _check_library():
    if PdfWriter is None or not hasattr(DictionaryObject, "clone"):
        raise RenderError(
            "print runs of several vouchers per page need the pypdf package, "
            "version 3 or later: pip install 'pypdf>=3'"
        )


def _stream(writer, data: bytes):
    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream.flate_encode())


def impose(pdfs, per_sheet: int, *, caption: str = "", cut_marks: bool = True):
    """One PDF of A4 sheets holding ``per_sheet`` voucher pages each.

    Every page of every input PDF takes the next cell, left to right, top to
    bottom, centred in it (scaled down only if it is larger than a cell).
    ``caption`` is printed in each sheet's bottom margin with "sheet n of N".
    """
    _check_library()
    columns, rows = _grid(per_sheet)
    cells = columns * rows
    mm = _PT_PER_MM
    width, height = A4_MM[0] * mm, A4_MM[1] * mm
    margin = SHEET_MARGIN_MM * mm
    cell_w = (width - 2 * margin) / columns
    cell_h = (height - 2 * margin) / rows
    try:
        pages = [page for data in pdfs for page in PdfReader(io.BytesIO(data)).pages]
    except Exception as exc:
        raise RenderError("a voucher PDF cannot be read: %s" % exc) from exc
    if not pages:
        raise RenderError("a print run needs at least one voucher")
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    marks = _cut_marks(columns, rows) if cut_marks else b""
    sheets = (len(pages) + cells - 1) // cells
    for number in range(sheets):
        sheet = writer.add_blank_page(width, height)
        forms = DictionaryObject()
        ops = []
        for slot, page in enumerate(pages[number * cells : (number + 1) * cells]):
            ref, box = _form_xobject(writer, page)
            name = "/G2PV%d" % slot
            forms[NameObject(name)] = ref
            page_w, page_h = float(box.width), float(box.height)
            scale = min(cell_w / page_w, cell_h / page_h, 1.0)
            column, row = slot % columns, slot // columns
            x = margin + column * cell_w + (cell_w - scale * page_w) / 2
            y = height - margin - (row + 1) * cell_h + (cell_h - scale * page_h) / 2
            ops.append(
                b"q %.5f 0 0 %.5f %.3f %.3f cm %s Do Q"
                % (
                    scale,
                    scale,
                    x - scale * float(box.left),
                    y - scale * float(box.bottom),
                    name.encode("ascii"),
                )
            )
        ops.append(marks)
        label = "sheet %d of %d" % (number + 1, sheets)
        ops.append(_caption("%s - %s" % (caption, label) if caption else label))
        sheet[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/XObject"): forms,
                NameObject("/Font"): DictionaryObject(
                    {NameObject("/G2PCaption"): font}
                ),
            }
        )
        sheet[NameObject("/Contents")] = _stream(writer, b"\n".join(ops))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
