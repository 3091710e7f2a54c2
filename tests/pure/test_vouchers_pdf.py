"""Batched wkhtmltopdf rendering, split into one PDF per document."""

import io
import shutil
import subprocess

import pytest

from g2p_payment_files.vouchers import codes, pdf
from g2p_payment_files.vouchers.errors import RenderError

HAVE_WKHTMLTOPDF = shutil.which("wkhtmltopdf") is not None
needs_wkhtmltopdf = pytest.mark.skipif(
    not HAVE_WKHTMLTOPDF, reason="wkhtmltopdf binary is not installed"
)
needs_poppler = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils is not installed"
)

HEAD = "<head><style>.amount { font-weight: bold; } h1 { color: #333; }</style></head>"


def voucher(index, pages, head=HEAD, extra=""):
    body = "".join(
        '<div style="%s"><h1>Voucher %d</h1><p>page %d of %d</p>%s</div>'
        % ("page-break-before:always" if page else "", index, page + 1, pages, extra)
        for page in range(pages)
    )
    return "<!DOCTYPE html><html>%s<body>%s</body></html>" % (head, body)


def pdf_text(data):
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=data,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return result.stdout.decode("utf-8")


def page_count(data):
    return len(pdf.PdfReader(io.BytesIO(data)).pages)


def link_uris(data):
    uris = []
    for page in pdf.PdfReader(io.BytesIO(data)).pages:
        annots = page.get("/Annots")
        for annot in pdf.resolve(annots) if annots is not None else []:
            action = pdf.resolve(annot).get("/A")
            if action is not None and "/URI" in action:
                uris.append(str(action["/URI"]))
    return uris


@pytest.fixture
def count_runs(monkeypatch):
    """Count wkhtmltopdf processes started by the pdf module."""
    calls = []
    real_run = subprocess.run

    def counting_run(args, *a, **kw):
        calls.append(args)
        return real_run(args, *a, **kw)

    monkeypatch.setattr(pdf.subprocess, "run", counting_run)
    return calls


@needs_wkhtmltopdf
@needs_poppler
def test_one_process_renders_n_documents_split_per_document(count_runs):
    pages = [1, 2, 3, 1]
    pdfs = pdf.htmls_to_pdfs([voucher(i, n) for i, n in enumerate(pages)])
    assert len(count_runs) == 1
    assert len(pdfs) == len(pages)
    for index, (data, expected_pages) in enumerate(zip(pdfs, pages, strict=True)):
        assert data.startswith(b"%PDF")
        assert page_count(data) == expected_pages
        text = pdf_text(data)
        assert text.count("Voucher %d" % index) == expected_pages
        assert "page %d of %d" % (expected_pages, expected_pages) in text
        for other in set(range(len(pages))) - {index}:
            assert "Voucher %d" % other not in text
        assert not any("g2p-voucher-split" in uri for uri in link_uris(data))


@needs_wkhtmltopdf
@needs_poppler
def test_real_links_survive_and_markers_are_removed():
    extra = '<a href="https://verify.example.org/help">verify</a>'
    pdfs = pdf.htmls_to_pdfs([voucher(0, 1, extra=extra), voucher(1, 1)])
    assert link_uris(pdfs[0]) == ["https://verify.example.org/help"]
    assert link_uris(pdfs[1]) == []


@needs_wkhtmltopdf
@needs_poppler
def test_different_heads_are_rendered_separately_in_order(count_runs):
    other_head = "<head><style>h1 { color: red; }</style></head>"
    htmls = [
        voucher(0, 1),
        voucher(1, 2, head=other_head),
        voucher(2, 1),
        voucher(3, 1),
    ]
    pdfs = pdf.htmls_to_pdfs(htmls)
    assert len(count_runs) == 2  # one per distinct <head>
    assert [page_count(p) for p in pdfs] == [1, 2, 1, 1]
    assert ["Voucher %d" % i in pdf_text(p) for i, p in enumerate(pdfs)] == [True] * 4


@needs_wkhtmltopdf
def test_large_batches_are_chunked(count_runs):
    pdfs = pdf.htmls_to_pdfs([voucher(i, 1) for i in range(5)], max_per_run=2)
    assert len(count_runs) == 3
    assert [page_count(p) for p in pdfs] == [1] * 5


@needs_wkhtmltopdf
@needs_poppler
def test_unsplittable_output_falls_back_to_one_process_per_document(
    monkeypatch, count_runs
):
    monkeypatch.setattr(pdf, "_split_pdf", lambda data, count, bitmaps=None: None)
    pdfs = pdf.htmls_to_pdfs([voucher(0, 2), voucher(1, 1)])
    assert len(count_runs) == 3
    assert [page_count(p) for p in pdfs] == [2, 1]
    assert "Voucher 1" in pdf_text(pdfs[1])


@needs_wkhtmltopdf
@needs_poppler
def test_fragments_and_single_document():
    pdfs = pdf.htmls_to_pdfs(["<p>first fragment</p>", "<p>second fragment</p>"])
    assert "first fragment" in pdf_text(pdfs[0])
    assert "second fragment" in pdf_text(pdfs[1])
    single = pdf.html_to_pdf(voucher(9, 2))
    assert page_count(single) == 2
    assert "Voucher 9" in pdf_text(single)
    assert pdf.htmls_to_pdfs([]) == []


@needs_wkhtmltopdf
@pytest.mark.parametrize("image", ["svg", "png"])
def test_qr_in_pdf_decodes_from_the_printed_page(tmp_path, image):
    """Both image formats survive wkhtmltopdf (which JPEG-encodes PNGs) and
    printing at 150 dpi."""
    zxingcpp = pytest.importorskip("zxingcpp")
    pil_image = pytest.importorskip("PIL.Image")
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils is not installed")
    payloads = ["HC1:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTL%s" % i for i in range(3)]
    payloads.append("G2P:" + "6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPT" * 11)
    if image == "svg":
        uris = [codes.svg_data_uri(codes.qr_svg(text)) for text in payloads]
    else:
        uris = [codes.png_data_uri(codes.qr_png(text, box_size=4)) for text in payloads]
    htmls = [
        '<html><body><h1>Voucher</h1><img style="width:60mm" src="%s"/></body></html>'
        % uri
        for uri in uris
    ]
    for index, data in enumerate(pdf.htmls_to_pdfs(htmls)):
        path = tmp_path / ("v%d.pdf" % index)
        path.write_bytes(data)
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(path)],
            check=True,
            timeout=60,
        )
        image = pil_image.open(str(path) + ".png")
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert [r.text for r in found] == [payloads[index]]


def test_missing_wkhtmltopdf_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv(pdf.BINARY_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="apt-get install wkhtmltopdf"):
        pdf.wkhtmltopdf_binary()
    with pytest.raises(RenderError, match="PyPI package named 'wkhtmltopdf' is NOT"):
        pdf.htmls_to_pdfs(["<p>x</p>"])
    with pytest.raises(RenderError, match="not installed"):
        pdf.html_to_pdf("<p>x</p>")


def test_bad_configured_binary_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(pdf.BINARY_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(
        RenderError, match="G2P_WKHTMLTOPDF=.*nowhere is not an executable"
    ):
        pdf.wkhtmltopdf_binary()


def test_empty_documents_are_refused():
    with pytest.raises(RenderError, match="#2 is empty"):
        pdf.htmls_to_pdfs(["<p>x</p>", "  "])
    with pytest.raises(RenderError, match="empty"):
        pdf.html_to_pdf("")


def test_options_become_command_line_flags(monkeypatch, tmp_path):
    fake = tmp_path / "wkhtmltopdf"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv(pdf.BINARY_ENV, str(fake))
    command = pdf._command(
        {"page-size": "A5", "--margin-top": "5mm", "quiet": False, "grayscale": True}
    )
    assert command[0] == str(fake)
    assert command[-2:] == ["-", "-"]
    joined = " ".join(command)
    assert "--page-size A5" in joined and "--margin-top 5mm" in joined
    assert "--grayscale" in command and "--quiet" not in command
    assert "--disable-local-file-access" in command


def test_failing_binary_reports_its_exit_code(monkeypatch, tmp_path):
    fake = tmp_path / "wkhtmltopdf"
    fake.write_text("#!/bin/sh\necho 'boom: out of paper' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv(pdf.BINARY_ENV, str(fake))
    with pytest.raises(RenderError, match=r"exit code 3.*boom: out of paper"):
        pdf.html_to_pdf("<p>x</p>")


@needs_wkhtmltopdf
@needs_poppler
def test_html_and_body_attributes_are_kept_per_group(count_runs):
    shell = '<!DOCTYPE html><html %s><head></head><body class="v">%s</body></html>'
    rtl, ltr = 'dir="rtl" lang="ar"', 'lang="en"'
    htmls = [shell % (rtl, "<p>alpha</p>"), shell % (ltr, "<p>beta</p>")]
    htmls.append(shell % (rtl, "<p>gamma</p>"))
    pdfs = pdf.htmls_to_pdfs(htmls)
    assert len(count_runs) == 2
    texts = [pdf_text(p) for p in pdfs]
    assert ["alpha" in texts[0], "beta" in texts[1], "gamma" in texts[2]] == [True] * 3
