"""A QR module matrix as a 1-bit PNG (Pillow).

wkhtmltopdf draws an SVG QR code as thousands of vector operations (~5 ms of
CPU and ~15 KB per voucher page, more than the rest of the page); a PNG image
costs it almost nothing (tests/bench/bench_vouchers.py: SVG vs PNG QR).
"""

import io

from PIL import Image

_DARK_TO_PIXEL = bytes.maketrans(b"\x00\x01", b"\xff\x00")


def matrix_png(matrix, *, box_size: int = 10, border: int = 4, bits=False):
    """PNG bytes: ``box_size`` pixels per module, ``border`` light modules
    around, dark modules black; 1 bit per pixel.  With ``bits``: (PNG bytes,
    (width, height), its rows packed 8 pixels a byte, 1 = white)."""
    modules = len(matrix)
    pixels = b"".join(bytes(row).translate(_DARK_TO_PIXEL) for row in matrix)
    symbol = Image.frombytes("L", (modules, modules), pixels)
    size = (modules + 2 * border) * box_size
    image = Image.new("1", (size, size), 1)
    offset = border * box_size
    image.paste(
        symbol.resize((modules * box_size,) * 2, Image.NEAREST).convert(
            "1", dither=Image.Dither.NONE
        ),
        (offset, offset),
    )
    buffer = io.BytesIO()
    # The PNG only travels inside the voucher's HTML to wkhtmltopdf, which
    # re-encodes it: fast deflate saves ~0.3 ms per voucher for ~500 bytes.
    image.save(buffer, "PNG", compress_level=1)
    if bits:
        return buffer.getvalue(), image.size, image.tobytes()
    return buffer.getvalue()
