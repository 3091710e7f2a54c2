"""QR and Code-128 SVGs: rasterise the SVG text, decode the image, compare.

Two rasterisers read the SVG text: wkhtmltoimage (QtWebKit, shipped with the
wkhtmltopdf package) rendering it as an ``<img>`` data URI, as a voucher does;
and a minimal Pillow rasteriser of the two SVG shapes we emit (path runs for
QR, rects for python-barcode).  Two decoders read the image: zbar and zxing-cpp.
"""

import base64
import io
import random
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest
import qrcode
from PIL import Image, ImageDraw

from g2p_payment_files.vouchers import codes, keys, payloads
from g2p_payment_files.vouchers.errors import RenderError

zxingcpp = pytest.importorskip("zxingcpp", reason="test requirement: zxing-cpp")
try:  # needs the libzbar0 shared library; zbarimg is the fallback
    from pyzbar import pyzbar
    from pyzbar.pyzbar import ZBarSymbol
except ImportError:  # pragma: no cover - depends on the machine
    pyzbar = None

NOW = 1_800_000_000
CLAIMS_TEMPLATE = (
    '{"payment_id": "PAY/2026/000123", "registrant_id": "REG-0000042",'
    ' "beneficiary": "Amina Njeri Wanjiku", "program": "Cash Transfer 2026",'
    ' "cycle": "Cycle 3 - November 2026", "amount": "2500.00", "currency": "KES"}'
)


# --- rasterisers --------------------------------------------------------------

_RUN_RE = re.compile(r"M([\d.]+) ([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+z")


def raster_svg_pillow(svg, scale=4):
    """Rasterise our SVGs (one path of rectangles) or python-barcode's (rects)."""
    root = ET.fromstring(svg.split("?>", 1)[-1].split("]>", 1)[-1].strip())
    ns = "{http://www.w3.org/2000/svg}"
    if root.get("viewBox"):
        _x, _y, width, height = (float(v) for v in root.get("viewBox").split())
        # QR codes are drawn in module units, barcodes in millimetres.
        unit = 10 * scale / 4 if root.get("width", "").endswith("mm") else scale
        image = Image.new("L", (round(width * unit), round(height * unit)), 255)
        draw = ImageDraw.Draw(image)
        for path in root.iter(ns + "path"):
            for x, y, w, h in _RUN_RE.findall(path.get("d")):
                x, y, w, h = (float(v) * unit for v in (x, y, w, h))
                draw.rectangle(
                    [round(x), round(y), round(x + w) - 1, round(y + h) - 1], fill=0
                )
        return image
    mm = 10 * scale / 4  # pixels per millimetre

    def length(value):
        return float(value.rstrip("m")) * mm

    image = Image.new(
        "L", (int(length(root.get("width"))), int(length(root.get("height")))), 255
    )
    draw = ImageDraw.Draw(image)
    for rect in root.iter(ns + "rect"):
        if rect.get("x") is None or "black" not in (rect.get("style") or ""):
            continue
        x, y = length(rect.get("x")), length(rect.get("y"))
        w, h = length(rect.get("width")), length(rect.get("height"))
        draw.rectangle([round(x), round(y), round(x + w) - 1, round(y + h) - 1], fill=0)
    return image


def raster_svg_webkit(svg, width_px=700):
    binary = shutil.which("wkhtmltoimage")
    if not binary:
        pytest.skip("wkhtmltoimage (package wkhtmltopdf) is not installed")
    html = (
        '<html><body style="margin:0;background:#fff">'
        '<img style="width:%dpx" src="%s"/></body></html>'
        % (width_px, codes.svg_data_uri(svg))
    )
    result = subprocess.run(
        [binary, "-q", "--width", str(width_px + 20), "--format", "png", "-", "-"],
        input=html.encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    return Image.open(io.BytesIO(result.stdout)).convert("L")


RASTERISERS = {"pillow": raster_svg_pillow, "webkit": raster_svg_webkit}


# --- decoders (restricted to the expected symbology: no false positives) ------


def decode_zxing(image, kind):
    fmt = (
        zxingcpp.BarcodeFormat.QRCode
        if kind == "qr"
        else zxingcpp.BarcodeFormat.Code128
    )
    return [r.text for r in zxingcpp.read_barcodes(image, formats=fmt)]


def decode_zbar(image, kind):
    if pyzbar is not None:
        symbol = ZBarSymbol.QRCODE if kind == "qr" else ZBarSymbol.CODE128
        return [r.data.decode("utf-8") for r in pyzbar.decode(image, symbols=[symbol])]
    binary = shutil.which("zbarimg")
    if not binary:
        pytest.skip("zbar (libzbar0 / zbar-tools) is not installed")
    with tempfile.NamedTemporaryFile(suffix=".png") as handle:
        image.save(handle, format="PNG")
        handle.flush()
        result = subprocess.run(
            [
                binary,
                "-q",
                "--raw",
                "-Sdisable",
                "-S%s.enable" % ("qrcode" if kind == "qr" else "code128"),
                handle.name,
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
    return result.stdout.decode("utf-8").splitlines()


DECODERS = {"zbar": decode_zbar, "zxing": decode_zxing}


def decoded_texts(image, decoder, kind="qr"):
    return DECODERS[decoder](image, kind)


# --- payloads -----------------------------------------------------------------


@pytest.fixture(scope="module")
def long_rs256_jwt():
    signer = payloads.Signer(keys.generate_private_key("RSA"), "0b7c3c5e-3d1f-4a57")
    token = payloads.build_payload(
        "jwt",
        CLAIMS_TEMPLATE,
        signer=signer,
        issuer="https://g2p.example.org",
        validity_seconds=86400,
        now=NOW,
    )
    assert len(token) > 700
    return token


@pytest.fixture(scope="module")
def cwt_payload():
    signer = payloads.Signer(keys.generate_private_key("EC"), "kid-ec-1")
    text = payloads.build_payload(
        "cwt",
        CLAIMS_TEMPLATE,
        signer=signer,
        issuer="https://g2p.example.org",
        validity_seconds=86400,
        now=NOW,
        cwt_prefix="HC1:",
    )
    assert set(text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    return text


@pytest.mark.parametrize("rasteriser", list(RASTERISERS))
@pytest.mark.parametrize("decoder", list(DECODERS))
@pytest.mark.parametrize("which", ["long_rs256_jwt", "cwt_payload"])
def test_qr_svg_decodes_back_to_exact_payload(request, rasteriser, decoder, which):
    payload = request.getfixturevalue(which)
    svg = codes.qr_svg(payload, box_size=4)
    image = RASTERISERS[rasteriser](svg)
    assert decoded_texts(image, decoder) == [payload]


@pytest.mark.parametrize("mask", list(range(8)) + [None])
def test_every_mask_choice_gives_a_readable_symbol(cwt_payload, mask):
    svg = codes.qr_svg(cwt_payload, box_size=3, mask_pattern=mask)
    assert decoded_texts(raster_svg_pillow(svg, scale=3), "zxing") == [cwt_payload]


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_error_correction_levels(cwt_payload, level):
    svg = codes.qr_svg(cwt_payload, error_correction=level, box_size=3)
    assert decoded_texts(raster_svg_pillow(svg, scale=3), "zxing") == [cwt_payload]
    sizes = {
        lvl: len(codes.qr_matrix(cwt_payload, error_correction=lvl)) for lvl in "LH"
    }
    assert sizes["L"] < sizes["H"]


def test_requested_version_is_a_minimum():
    assert len(codes.qr_matrix("PAY-1", version=10)) == 4 * 10 + 17
    assert len(codes.qr_matrix("PAY-1")) == 21  # version 1 fits
    assert len(codes.qr_matrix("X" * 500, version=2)) > 4 * 2 + 17


def test_svg_size_follows_box_size_and_border():
    svg = codes.qr_svg("PAY-1", box_size=5, border=2)
    total = 21 + 2 * 2
    assert 'width="%d" height="%d"' % (total * 5, total * 5) in svg
    assert 'viewBox="0 0 %d %d"' % (total, total) in svg
    # Unset (None) settings fall back to python-qrcode's defaults, 10 and 4.
    unset = codes.qr_svg("PAY-1", box_size=None, border=None)
    assert 'width="290" height="290"' in unset
    with pytest.raises(RenderError, match="box size must be >= 1"):
        codes.qr_svg("PAY-1", box_size=0)


def test_too_long_payload_explains_the_fix():
    with pytest.raises(RenderError, match="does not fit in a QR code.*CWT"):
        codes.qr_svg("x" * 3000, error_correction="H")


def test_bad_qr_settings_are_refused():
    with pytest.raises(RenderError, match="error correction 'Z'"):
        codes.qr_svg("a", error_correction="Z")
    with pytest.raises(RenderError, match="version 41"):
        codes.qr_svg("a", version=41)
    with pytest.raises(RenderError, match="empty"):
        codes.qr_svg("")


def test_upstream_error_correction_codes_map_to_letters():
    mapped = {code: codes.error_correction_from_upstream(code) for code in "0123"}
    assert mapped == {"0": "M", "1": "L", "2": "H", "3": "Q"}
    assert codes.error_correction_from_upstream(2) == "H"
    with pytest.raises(RenderError, match="unknown QR error-correction code '7'"):
        codes.error_correction_from_upstream("7")


@pytest.mark.parametrize("rasteriser", list(RASTERISERS))
@pytest.mark.parametrize("decoder", list(DECODERS))
@pytest.mark.parametrize("data", ["PAY/2026/000123", "REG-0000042 amount=2500.00"])
def test_code128_round_trip(rasteriser, decoder, data):
    svg = codes.code128_svg(data)
    assert svg.lstrip().startswith("<?xml") or svg.lstrip().startswith("<svg")
    assert decoded_texts(RASTERISERS[rasteriser](svg), decoder, "code128") == [data]


def test_code128_without_text_and_unencodable_data():
    with_text = codes.code128_svg("PAY-1")
    without = codes.code128_svg("PAY-1", write_text=False)
    assert "PAY-1" in with_text and "PAY-1" not in without.split("-->", 1)[-1]
    with pytest.raises(RenderError, match="Code-128"):
        codes.code128_svg("Zoë 中")


def test_svg_data_uri_round_trips():
    svg = codes.qr_svg("PAY-1")
    uri = codes.svg_data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
@pytest.mark.parametrize("alphabet", ["0123456789", "HC1:ABC $%*+-./", "eyJhbGci_-.x"])
def test_computed_version_is_the_smallest_that_fits(level, alphabet):
    ec = {"L": 1, "M": 0, "Q": 3, "H": 2}[level]
    for length in (1, 7, 20, 41, 77, 150, 333, 700, 1200):
        data = (alphabet * (length // len(alphabet) + 1))[:length]
        reference = qrcode.QRCode(error_correction=ec)
        reference.add_data(data, optimize=0)
        try:
            reference.best_fit()
        except qrcode.exceptions.DataOverflowError:
            with pytest.raises(RenderError, match="does not fit"):
                codes.qr_matrix(data, error_correction=level)
            continue
        size = len(codes.qr_matrix(data, error_correction=level))
        assert size == 4 * reference.version + 17, (length, level)


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
@pytest.mark.parametrize(
    "alphabet",
    ["0123456789", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", "eyJhbGci_-.=Zoë"],
)
def test_fast_codewords_give_the_same_symbol_as_python_qrcode(level, alphabet):
    rng = random.Random(7)
    lengths = [1, 2, 3, 4, 5, 13, 27, 64, 130, 271, 400, 777, 1100, 1800]
    for length in lengths:
        data = "".join(rng.choice(alphabet) for _ in range(length))
        try:
            reference = codes.qr_matrix(data, error_correction=level, fast=False)
        except RenderError:
            continue
        assert codes.qr_matrix(data, error_correction=level) == reference, length


@pytest.mark.parametrize("mask", [*range(8), None])
def test_fast_layout_matches_python_qrcode_for_every_mask(mask):
    for data in (
        "PAY-1",
        "HC1:" + "6BF+70790T9WJWG.FKY*4GO0" * 9,
        "eyJ" + "aZ_-9" * 150,
    ):
        reference = codes.qr_matrix(data, mask_pattern=mask, fast=False)
        assert codes.qr_matrix(data, mask_pattern=mask) == reference


@pytest.mark.parametrize("data", ["PAY-1", "0d9c8e1a-77f2", "Zz 09 ~!"])
@pytest.mark.parametrize("write_text", [True, False])
def test_code128_fast_path_draws_the_bars_python_barcode_draws(data, write_text):
    """The one-path drawing puts every bar where python-barcode's writer does,
    at the same symbol size."""
    fast = codes.code128_svg(data, write_text=write_text)
    reference = codes._code128_svg_reference(data, write_text=write_text)
    rect = r'<rect x="([\d.]+)mm" y="[\d.]+mm" width="([\d.]+)mm"'
    ref_bars = [
        tuple(round(float(v), 3) for v in m) for m in re.findall(rect, reference)
    ]
    path = r"M([\d.]+) [\d.]+h([\d.]+)v"
    fast_bars = [tuple(round(float(v), 3) for v in m) for m in re.findall(path, fast)]
    assert fast_bars and fast_bars == ref_bars
    size = r'width="([\d.]+)mm" height="([\d.]+)mm"'
    assert [float(v) for v in re.search(size, fast).groups()] == pytest.approx(
        [float(v) for v in re.search(size, reference).groups()]
    )
    assert (data in fast) == write_text


def test_code128_writer_options_use_python_barcode_writer():
    svg = codes.code128_svg("PAY-1", options={"module_height": 8.0})
    assert "python-barcode" in svg
    assert 'height="8.000mm"' in svg


@pytest.mark.parametrize("decoder", list(DECODERS))
@pytest.mark.parametrize("which", ["long_rs256_jwt", "cwt_payload"])
def test_qr_png_decodes_back_to_exact_payload(request, decoder, which):
    payload = request.getfixturevalue(which)
    image = Image.open(io.BytesIO(codes.qr_png(payload, box_size=4)))
    assert decoded_texts(image.convert("L"), decoder) == [payload]


@pytest.mark.parametrize("box_size,border", [(10, 4), (3, 0), (1, 2), (7, 1)])
def test_qr_png_has_the_pixels_pillow_draws_from_the_same_matrix(
    cwt_payload, box_size, border
):
    """The PNG has the matrix's modules, box_size pixels each, border around."""
    matrix = codes.qr_matrix(cwt_payload)
    size = len(matrix) + 2 * border
    reference = Image.new("L", (size, size), 255)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                reference.putpixel((x + border, y + border), 0)
    reference = reference.resize((size * box_size, size * box_size), Image.NEAREST)
    ours = Image.open(
        io.BytesIO(codes.matrix_png(matrix, box_size=box_size, border=border))
    )
    assert ours.mode == "1"
    assert ours.size == reference.size
    assert list(ours.convert("L").getdata()) == list(reference.getdata())


def test_png_data_uri_round_trips():
    png = codes.qr_png("G2P:ABC", box_size=2)
    uri = codes.png_data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png
