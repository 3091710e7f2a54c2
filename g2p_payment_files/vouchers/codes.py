"""QR code and Code-128 images as SVG text (nothing is written to disk)."""

import base64

import barcode
import qrcode
from barcode.errors import BarcodeError
from barcode.writer import SVGWriter
from qrcode import constants as qr_constants
from qrcode import util as qr_util

from . import const
from .errors import RenderError

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


def qr_matrix(
    data: str,
    *,
    version: int | None = None,
    error_correction: str = "M",
    mask_pattern: int | None = const.QR_DEFAULT_MASK_PATTERN,
):
    """The QR module matrix (list of rows of bools, no quiet zone).

    ``version`` is a minimum: a larger symbol is chosen when the data needs it.
    ``mask_pattern=None`` lets python-qrcode score all 8 masks (several times
    slower); any fixed mask gives a standard symbol every decoder reads.  The
    data is one segment in its densest single mode (base45 -> alphanumeric),
    and the version is computed here instead of by python-qrcode's trial
    encoding, which costs as much as the encoding itself.
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
    qr = qrcode.QRCode(
        version=fitting, error_correction=level, border=0, mask_pattern=mask_pattern
    )
    qr.add_data(qr_data)
    qr.make(fit=False)
    return qr.modules


def matrix_svg(matrix, *, box_size: int = 10, border: int = 4) -> str:
    """SVG of a module matrix: one path of horizontal runs, in module units."""
    size = len(matrix)
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                parts.append(
                    "M%d %dh%dv1h-%dz"
                    % (start + border, y + border, x - start, x - start)
                )
            else:
                x += 1
    total = size + 2 * border
    pixels = total * box_size
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d"'
        ' viewBox="0 0 %d %d" shape-rendering="crispEdges">'
        '<rect width="100%%" height="100%%" fill="#fff"/>'
        '<path fill="#000" d="%s"/></svg>'
        % (pixels, pixels, total, total, "".join(parts))
    )


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
    if box_size < 1 or border < 0:
        raise RenderError("the QR box size must be >= 1 and the border >= 0")
    matrix = qr_matrix(
        data,
        version=version,
        error_correction=error_correction,
        mask_pattern=mask_pattern,
    )
    return matrix_svg(matrix, box_size=box_size, border=border)


def code128_svg(
    data: str, *, write_text: bool = True, options: dict | None = None
) -> str:
    """A Code-128 barcode of ``data`` as SVG text (rendered in memory)."""
    if not data:
        raise RenderError("cannot encode an empty barcode")
    writer_options = {"write_text": write_text}
    writer_options.update(options or {})
    try:
        code = barcode.get("code128", data, writer=SVGWriter())
        svg = code.render(writer_options)
    except (ValueError, UnicodeError, BarcodeError) as exc:
        raise RenderError("cannot encode %r as Code-128: %s" % (data, exc)) from exc
    return svg.decode("utf-8") if isinstance(svg, bytes) else svg


def svg_data_uri(svg: str) -> str:
    """``data:image/svg+xml;base64,...`` for an ``<img src>`` in a template."""
    if isinstance(svg, str):
        svg = svg.encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
