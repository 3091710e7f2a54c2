"""Code-128 barcodes as SVG text: python-barcode encodes, one path draws."""

import html
import re

import barcode
from barcode.errors import BarcodeError
from barcode.writer import SVGWriter

from .errors import RenderError

# Code-128 geometry, in millimetres, as python-barcode's SVG writer draws it
# by default (so a voucher template looks the same on either path).
_C128_MODULE = 0.2
_C128_HEIGHT = 15.0
_C128_QUIET = 2.54
_C128_TOP = 1.0
_C128_TEXT_GAP = 5.0
_C128_TEXT_HEIGHT = 7.764  # what the writer adds below the bars for 10pt text
_BAR_RUN = re.compile(r"1+")


def code128_modules(data: str) -> str:
    """The symbol's modules as "1" (bar) / "0" (space), start to stop."""
    if not data:
        raise RenderError("cannot encode an empty barcode")
    try:
        return barcode.get("code128", data).build()[0]
    except (ValueError, UnicodeError, BarcodeError) as exc:
        raise RenderError("cannot encode %r as Code-128: %s" % (data, exc)) from exc


def code128_svg(
    data: str, *, write_text: bool = True, options: dict | None = None
) -> str:
    """A Code-128 barcode of ``data`` as SVG text.

    python-barcode encodes; the bars are drawn here as ONE path (its SVG
    writer builds a DOM of one rect per bar, ~8 ms a code, more than the
    rest of a voucher's codes). ``options`` (python-barcode writer options)
    selects python-barcode's own writer.
    """
    if options:
        return _code128_svg_reference(data, write_text=write_text, options=options)
    modules = code128_modules(data)
    width = 2 * _C128_QUIET + len(modules) * _C128_MODULE
    height = _C128_TOP + _C128_HEIGHT + (_C128_TEXT_HEIGHT if write_text else 1.0)
    bars = "".join(
        "M%.3f %.3fh%.3fv%.3fh-%.3fz"
        % (
            _C128_QUIET + run.start() * _C128_MODULE,
            _C128_TOP,
            (run.end() - run.start()) * _C128_MODULE,
            _C128_HEIGHT,
            (run.end() - run.start()) * _C128_MODULE,
        )
        for run in _BAR_RUN.finditer(modules)
    )
    text = ""
    if write_text:
        text = (
            '<text x="%.3f" y="%.3f" font-size="3.528" text-anchor="middle"'
            ' fill="#000">%s</text>'
            % (width / 2, _C128_TOP + _C128_HEIGHT + _C128_TEXT_GAP, html.escape(data))
        )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%.3fmm"'
        ' height="%.3fmm" viewBox="0 0 %.3f %.3f" shape-rendering="crispEdges">'
        '<rect width="100%%" height="100%%" fill="#fff"/>'
        '<path fill="#000" d="%s"/>%s</svg>'
        % (width, height, width, height, bars, text)
    )


def _code128_svg_reference(data, *, write_text=True, options=None):
    """python-barcode's own SVG writer (reference path)."""
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
