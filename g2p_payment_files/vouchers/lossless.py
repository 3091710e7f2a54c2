"""1-bit images (QR codes) kept exact and small through wkhtmltopdf.

wkhtmltopdf's PDF engine stores every raster image as an RGB JPEG: a QR code
drawn at 4 px per module costs ~3 ms of JPEG encoding and ~50 KB per voucher,
blurred edges included.  So a QR code goes into the HTML at 2 px per module,
wrapped in an SVG that gives it the size the template saw before (the SVG
stretches it, the PDF keeps the small source), and after wkhtmltopdf each
JPEG that is such an image is replaced by the exact 1-bit original: a few
hundred bytes, no interpolation, scanned from 150 dpi prints.

A JPEG is replaced only by a 1-bit image of the same document and size: the
document's only one of that size, or, when it has several, the one whose
pixels the JPEG shows (JPEG noise aside); any other image is left as it is.
The embedded fonts' ``name`` tables, most of a font subset's bytes (DejaVu
carries its licence text three times), are cut to the names a PDF font needs,
copyright notice included, with fontTools when it is installed."""

import base64
import io
import logging
import re
import zlib

from PIL import Image

try:  # optional: without it the fonts stay as wkhtmltopdf wrote them
    from fontTools.ttLib import TTFont
except ImportError:  # pragma: no cover - depends on the environment
    TTFont = None

try:  # the streams are pikepdf objects (split_qpdf.py)
    from pikepdf import Name
except ImportError:  # pragma: no cover - depends on the environment
    Name = None

_logger = logging.getLogger(__name__)
# Qt writes font timestamps fontTools finds "very low"; they are left as they are.
logging.getLogger("fontTools.ttLib.tables._h_e_a_d").setLevel(logging.ERROR)

# The ``data-g2p`` attribute marks wrappers this module made.
_WRAPPER = (
    '<svg xmlns="http://www.w3.org/2000/svg" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" data-g2p="1bit" '
    'width="%(w)d" height="%(h)d" viewBox="0 0 %(sw)d %(sh)d">'
    '<image width="%(sw)d" height="%(sh)d" preserveAspectRatio="none" '
    'xlink:href="data:image/png;base64,%(png)s"/></svg>'
)
_SVG_URI_RE = re.compile(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)")
_PNG_IN_SVG_RE = re.compile(rb'data-g2p="1bit".*?data:image/png;base64,([^"]+)"')
# A decoded JPEG pixel reads as black below this level, as white from it.
_THRESHOLD = [0 if level < 128 else 255 for level in range(256)]
# What this process wrapped lately: base64 PNG -> (size, packed pixels).
_KNOWN = {}
_KNOWN_MAX = 2048
# Name records a PDF font keeps: copyright, family, style, id, full name,
# version and PostScript name (the subsetters' usual choice).
_FONT_NAME_IDS = frozenset(range(7))


def wrap_png(png: bytes, width: int, height: int, source=None, packed=None) -> str:
    """SVG of ``width`` x ``height`` px showing the 1-bit ``png`` stretched
    (``source``: its size in pixels and ``packed`` its pixels as
    ``bitmaps_in_html`` gives them, when the caller knows them: the HTML is
    then not decoded again for them)."""
    if source is None:
        with Image.open(io.BytesIO(png)) as image:
            source = image.size
    encoded = base64.b64encode(png).decode("ascii")
    if packed is not None:
        if len(_KNOWN) >= _KNOWN_MAX:
            _KNOWN.clear()
        _KNOWN[encoded.encode("ascii")] = (tuple(source), packed)
    return _WRAPPER % {
        "w": width,
        "h": height,
        "sw": source[0],
        "sh": source[1],
        "png": encoded,
    }


def bitmaps_in_html(html: str):
    """The 1-bit images wrapped in ``html``: ``{(width, height): [bytes]}``,
    their rows packed 8 pixels a byte (1 white), as a PDF 1-bit image has them."""
    found = {}
    for match in _SVG_URI_RE.finditer(html):
        try:
            svg = base64.b64decode(match.group(1))
        except ValueError:
            continue
        inner = _PNG_IN_SVG_RE.search(svg)
        if not inner:
            continue
        known = _KNOWN.get(inner.group(1))
        if known:
            found.setdefault(known[0], []).append(known[1])
            continue
        with Image.open(io.BytesIO(base64.b64decode(inner.group(1)))) as image:
            if image.mode != "1":
                continue
            found.setdefault(image.size, []).append(image.tobytes())
    return found


def _set_stream(stream, raw: bytes, **entries):
    """Give a PDF stream new (Flate-compressed) content and entries."""
    stream.write(zlib.compress(raw), filter=Name.FlateDecode)
    for key in ("/DecodeParms", "/SMask"):
        if key in stream:
            del stream[key]
    for key, value in entries.items():
        stream[Name("/" + key)] = value


def restore_bitmaps(pages, bitmaps) -> int:
    """Replace the JPEGs of ``pages`` (pikepdf pages) that are images of
    ``bitmaps`` (as ``bitmaps_in_html`` gives them) by the exact 1-bit
    images; how many."""
    if not bitmaps:
        return 0
    done, jpegs = 0, {}
    for page in pages:
        resources = page.obj.get("/Resources")
        xobjects = resources.get("/XObject") if resources is not None else None
        for image in (xobjects or {}).values():
            if image.get("/Subtype") != Name.Image or image.get("/Filter") != (
                Name.DCTDecode
            ):
                continue
            size = (int(image.get("/Width", 0)), int(image.get("/Height", 0)))
            candidates = bitmaps.get(size)
            if candidates:
                jpegs.setdefault(size, []).append(image)
    for size, images in jpegs.items():
        candidates = bitmaps[size]
        if len(images) == len(candidates) == 1:
            # The document's only image of that size is its only such bitmap.
            _restore(images[0], candidates[0])
            done += 1
            continue
        for image in images:  # several: each JPEG is matched by its pixels
            with Image.open(io.BytesIO(image.read_raw_bytes())) as jpeg:
                jpeg.draft("L", jpeg.size)  # decoded as grey by libjpeg itself
                seen = jpeg.convert("L").point(_THRESHOLD, "1").tobytes()
            if seen in candidates:
                _restore(image, seen)
                done += 1
    return done


def _restore(image, packed):
    _set_stream(
        image,
        packed,
        ColorSpace=Name.DeviceGray,
        BitsPerComponent=1,
        Interpolate=False,
    )


def trim_fonts(pages) -> int:
    """Cut the ``name`` table of each TrueType font of ``pages`` (pikepdf pages)
    to the names a PDF font needs, each font once; how many were cut."""
    if TTFont is None:
        return 0
    done, seen = 0, set()
    for page in pages:
        resources = page.obj.get("/Resources")
        fonts = resources.get("/Font") if resources is not None else None
        for font in (fonts or {}).values():
            descendants = font.get("/DescendantFonts")
            if descendants is not None:
                font = descendants[0]
            descriptor = font.get("/FontDescriptor")
            stream = descriptor.get("/FontFile2") if descriptor is not None else None
            if stream is None or stream.objgen in seen:
                continue
            seen.add(stream.objgen)
            try:
                trimmed = _trimmed_font(stream.read_bytes())
            except Exception as exc:  # noqa: BLE001 - a font we cannot read stays
                _logger.debug("font left as it is: %s", exc)
                continue
            if trimmed:
                _set_stream(stream, trimmed, Length1=len(trimmed))
                done += 1
    return done


def _trimmed_font(raw: bytes):
    font = TTFont(io.BytesIO(raw), recalcBBoxes=False, recalcTimestamp=False)
    if "name" not in font:
        return None
    table = font["name"]
    kept = [n for n in table.names if n.nameID in _FONT_NAME_IDS and n.platformID == 3]
    if not kept or len(kept) == len(table.names):
        return None
    table.names = kept
    out = io.BytesIO()
    font.save(out, reorderTables=False)
    return out.getvalue()
