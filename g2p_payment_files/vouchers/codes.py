"""QR code and Code-128 images as SVG text or PNG (nothing is written to disk)."""

import base64
import functools
import re

import qrcode
from qrcode import base as qr_base
from qrcode import constants as qr_constants
from qrcode import util as qr_util

from . import const, lossless
from .code128 import (  # noqa: F401 (part of this module's interface)
    _code128_svg_reference,
    code128_modules,
    code128_svg,
)
from .errors import RenderError
from .png import matrix_png

_DARK_RUN = re.compile(rb"\x01+")
_QR_LEVELS = {
    "L": qr_constants.ERROR_CORRECT_L,
    "M": qr_constants.ERROR_CORRECT_M,
    "Q": qr_constants.ERROR_CORRECT_Q,
    "H": qr_constants.ERROR_CORRECT_H,
}


def error_correction_from_upstream(code) -> str:
    """Letter for an upstream ``qrcode_error_correct`` value ("0".."3" = M, L, H, Q)."""
    letter = const.ERROR_CORRECTION_FROM_UPSTREAM.get(str(code).strip())
    if letter is None:
        raise RenderError(
            "unknown QR error-correction code %r;"
            " expected one of 0 (M), 1 (L), 2 (H), 3 (Q)" % (code,)
        )
    return letter


def _data_bits(qr_data, version):
    """Bits one single-mode segment needs in a symbol of this version."""
    count = len(qr_data)
    if qr_data.mode == qr_util.MODE_NUMBER:
        body = 10 * (count // 3) + (0, 4, 7)[count % 3]
    elif qr_data.mode == qr_util.MODE_ALPHA_NUM:
        body = 11 * (count // 2) + 6 * (count % 2)
    else:
        body = 8 * count
    return 4 + qr_util.mode_sizes_for_version(version)[qr_data.mode] + body


# --- QR codewords -------------------------------------------------------------
# python-qrcode builds the codewords bit by bit and computes Reed-Solomon with a
# polynomial class; together that is ~60% of its encoding time.  The same
# codewords are computed here with integer arithmetic and handed to
# python-qrcode, which still draws the function patterns and format/version
# information; the data placement is the cached one below.  The tests check
# that both paths give identical symbols for every mode, level and mask.

_GF_EXP = [0] * 512
_GF_LOG = [0] * 256
_value = 1
for _power in range(255):
    _GF_EXP[_power] = _value
    _GF_LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D  # QR's GF(256) primitive polynomial
for _power in range(255, 512):
    _GF_EXP[_power] = _GF_EXP[_power - 255]
_FAST_MODES = (qr_util.MODE_NUMBER, qr_util.MODE_ALPHA_NUM, qr_util.MODE_8BIT_BYTE)
_ALNUM_VALUE = {char: index for index, char in enumerate(qr_util.ALPHA_NUM)}


def _gf_mul(a, b):
    return _GF_EXP[_GF_LOG[a] + _GF_LOG[b]] if a and b else 0


@functools.lru_cache(maxsize=64)
def _rs_rows(ecc_len):
    """For each byte f: f * generator (without its leading 1) as an integer."""
    generator = [1]
    for power in range(ecc_len):
        factor = _GF_EXP[power]
        generator = [
            coef ^ _gf_mul(prev, factor)
            for coef, prev in zip(generator + [0], [0] + generator, strict=True)
        ]
    tail = generator[1:]
    return [
        int.from_bytes(bytes(_gf_mul(f, g) for g in tail), "big") for f in range(256)
    ]


def _rs_ecc(data: bytes, ecc_len: int) -> bytes:
    rows = _rs_rows(ecc_len)
    shift = 8 * (ecc_len - 1)
    mask = (1 << (8 * ecc_len)) - 1
    ecc = 0
    for byte in data:
        ecc = ((ecc << 8) & mask) ^ rows[byte ^ (ecc >> shift)]
    return ecc.to_bytes(ecc_len, "big")


def _segment_bits(qr_data, version):
    """(value, bit count) of one segment: mode, character count, data."""
    data, mode, count = qr_data.data, qr_data.mode, len(qr_data)
    parts = [(mode, 4), (count, qr_util.length_in_bits(mode, version))]
    if mode == qr_util.MODE_8BIT_BYTE:
        parts.append((int.from_bytes(data, "big"), 8 * count))
    elif mode == qr_util.MODE_ALPHA_NUM:
        value = _ALNUM_VALUE
        parts.extend(
            (45 * value[data[i]] + value[data[i + 1]], 11)
            for i in range(0, count - 1, 2)
        )
        if count % 2:
            parts.append((value[data[-1]], 6))
    else:
        for i in range(0, count, 3):
            chunk = data[i : i + 3]
            parts.append((int(chunk), (4, 7, 10)[len(chunk) - 1]))
    acc = bits = 0
    for value, width in parts:
        acc = (acc << width) | value
        bits += width
    return acc, bits


def _codewords(qr_data, version, level):
    """Interleaved data + error-correction codewords, as python-qrcode lays out."""
    blocks = qr_base.rs_blocks(version, level)
    capacity = 8 * sum(block.data_count for block in blocks)
    acc, bits = _segment_bits(qr_data, version)
    pad_bits = min(capacity - bits, 4)  # terminator
    pad_bits += (-(bits + pad_bits)) % 8  # byte alignment
    acc <<= pad_bits
    bits += pad_bits
    data = acc.to_bytes(bits // 8, "big")
    data += bytes((0xEC, 0x11)[i % 2] for i in range(capacity // 8 - len(data)))
    data_blocks, ecc_blocks = [], []
    offset = 0
    for block in blocks:
        chunk = data[offset : offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ecc_blocks.append(_rs_ecc(chunk, block.total_count - block.data_count))
    out = []
    for group in (data_blocks, ecc_blocks):
        for index in range(max(len(chunk) for chunk in group)):
            out.extend(chunk[index] for chunk in group if index < len(chunk))
    return out


# Module placement (the zigzag walk over non-function modules) depends only on
# the version; mask bits on version and mask.  Both are cached, so laying out a
# symbol is one XOR of big integers plus one assignment per module.
_PLACEMENTS = {}
_MASK_BITS = {}


def _placement(modules):
    size = len(modules)
    order = []
    row, step = size - 1, -1
    for col in range(size - 1, 0, -2):
        if col <= 6:  # skip the vertical timing pattern
            col -= 1
        while True:
            for c in (col, col - 1):
                if modules[row][c] is None:
                    order.append((row, c))
            row += step
            if row < 0 or row >= size:
                row -= step
                step = -step
                break
    return order


class _FastQRCode(qrcode.QRCode):
    """python-qrcode with a cached, integer-based ``map_data``."""

    def map_data(self, data, mask_pattern):
        order = _PLACEMENTS.get(self.version)
        if order is None:
            order = _PLACEMENTS[self.version] = _placement(self.modules)
        count = len(order)
        mask_bits = _MASK_BITS.get((self.version, mask_pattern))
        if mask_bits is None:
            func = qr_util.mask_func(mask_pattern)
            mask_bits = int("".join("1" if func(r, c) else "0" for r, c in order), 2)
            _MASK_BITS[(self.version, mask_pattern)] = mask_bits
        data_bits = int.from_bytes(bytes(data), "big")
        spare = count - 8 * len(data)  # remainder bits are light before masking
        value = (data_bits << spare if spare >= 0 else data_bits >> -spare) ^ mask_bits
        modules = self.modules
        for (r, c), bit in zip(order, format(value, "0%db" % count), strict=True):
            modules[r][c] = bit == "1"


def qr_matrix(
    data: str,
    *,
    version: int | None = None,
    error_correction: str = "M",
    mask_pattern: int | None = const.QR_DEFAULT_MASK_PATTERN,
    fast: bool = True,
):
    """The QR module matrix (list of rows of bools, no quiet zone).

    ``version`` is a minimum: a larger symbol is chosen when the data needs it.
    ``mask_pattern=None`` lets python-qrcode score all 8 masks (several times
    slower); any fixed mask gives a standard symbol every decoder reads.  The
    data is one segment in its densest single mode (base45 -> alphanumeric),
    and the version is computed here instead of by python-qrcode's trial
    encoding, which costs as much as the encoding itself.  ``fast=False``
    lets python-qrcode compute codewords and placement itself (reference path).
    """
    level = _QR_LEVELS.get(str(error_correction).upper())
    if level is None:
        raise RenderError(
            "unknown QR error correction %r; use one of L, M, Q, H"
            % (error_correction,)
        )
    if not data:
        raise RenderError("cannot encode an empty QR code")
    if version is not None and not 1 <= int(version) <= 40:
        raise RenderError("QR version %s is out of range; use 1 to 40" % version)
    qr_data = qr_util.QRData(data)
    limits = qr_util.BIT_LIMIT_TABLE[level]
    fitting = next(
        (
            candidate
            for candidate in range(int(version or 1), 41)
            if _data_bits(qr_data, candidate) <= limits[candidate]
        ),
        None,
    )
    if fitting is None:
        raise RenderError(
            "the payload (%d characters) does not fit in a QR code at error"
            " correction %s; shorten it (an ES256 key or the CWT data type give"
            " much shorter payloads) or lower the error correction"
            % (len(data), error_correction)
        )
    qr = (_FastQRCode if fast else qrcode.QRCode)(
        version=fitting, error_correction=level, border=0, mask_pattern=mask_pattern
    )
    qr.add_data(qr_data)
    if fast and qr_data.mode in _FAST_MODES:
        qr.data_cache = _codewords(qr_data, fitting, level)
    qr.make(fit=False)
    return qr.modules


def matrix_svg(matrix, *, box_size: int = 10, border: int = 4) -> str:
    """SVG of a module matrix: one path of horizontal runs, in module units."""
    size = len(matrix)
    parts = []
    for y, row in enumerate(matrix):
        top = y + border
        for run in _DARK_RUN.finditer(bytes(row)):
            width = run.end() - run.start()
            parts.append("M%d %dh%dv1h-%dz" % (run.start() + border, top, width, width))
    total = size + 2 * border
    pixels = total * box_size
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d"'
        ' viewBox="0 0 %d %d" shape-rendering="crispEdges">'
        '<rect width="100%%" height="100%%" fill="#fff"/>'
        '<path fill="#000" d="%s"/></svg>'
        % (pixels, pixels, total, total, "".join(parts))
    )


def _qr_image(draw, data, version, error_correction, box_size, border, mask_pattern):
    box_size = 10 if box_size is None else int(box_size)
    border = 4 if border is None else int(border)
    if box_size < 1 or border < 0:
        raise RenderError("the QR box size must be >= 1 and the border >= 0")
    matrix = qr_matrix(
        data,
        version=version,
        error_correction=error_correction,
        mask_pattern=mask_pattern,
    )
    return draw(matrix, box_size=box_size, border=border)


def qr_svg(
    data: str,
    *,
    version: int | None = None,
    error_correction: str = "M",
    box_size: int = 10,
    border: int = 4,
    mask_pattern: int | None = const.QR_DEFAULT_MASK_PATTERN,
) -> str:
    """A QR code of ``data`` as SVG text (``box_size`` px per module)."""
    return _qr_image(
        matrix_svg, data, version, error_correction, box_size, border, mask_pattern
    )


def qr_png(
    data: str,
    *,
    version: int | None = None,
    error_correction: str = "M",
    box_size: int = 10,
    border: int = 4,
    mask_pattern: int | None = const.QR_DEFAULT_MASK_PATTERN,
) -> bytes:
    """A QR code of ``data`` as PNG bytes (``box_size`` px per module); much
    cheaper than SVG for wkhtmltopdf to put in a PDF."""
    return _qr_image(
        matrix_png, data, version, error_correction, box_size, border, mask_pattern
    )


# Pixels per module of the image a voucher's PDF stores: a 150 dpi rendering
# then maps about one stored pixel to one printed pixel (zbar reads it), and
# wkhtmltopdf's JPEG encoding of it stays cheap.
SOURCE_PX_PER_MODULE = 2


def qr_png_uri(
    data: str,
    *,
    version: int | None = None,
    error_correction: str = "M",
    box_size: int = 4,
    border: int = 4,
    mask_pattern: int | None = const.QR_DEFAULT_MASK_PATTERN,
) -> str:
    """A QR code for a voucher page: a small 1-bit PNG in an
    SVG of ``box_size`` px per module (see ``lossless``: the PDF then keeps it
    exact, not as a JPEG)."""
    return _qr_image(
        _wrapped_uri, data, version, error_correction, box_size, border, mask_pattern
    )


def _wrapped_uri(matrix, *, box_size: int, border: int) -> str:
    png, source, packed = matrix_png(
        matrix, box_size=SOURCE_PX_PER_MODULE, border=border, bits=True
    )
    side = (len(matrix) + 2 * border) * box_size
    return svg_data_uri(lossless.wrap_png(png, side, side, source, packed))


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>`` in a template."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def svg_data_uri(svg: str) -> str:
    """``data:image/svg+xml;base64,...`` for an ``<img src>`` in a template."""
    if isinstance(svg, str):
        svg = svg.encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
