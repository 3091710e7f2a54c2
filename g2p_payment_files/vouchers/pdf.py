"""HTML to PDF with wkhtmltopdf, many documents per process.

Starting wkhtmltopdf costs ~300 ms, rendering one more page ~2-16 ms.  So
``htmls_to_pdfs`` concatenates the documents into one HTML (a page break
before each), renders it in a single process and splits the result back into
one PDF per input document.  The split points come from an invisible 1x1 px
link placed at the top of every document: wkhtmltopdf turns it into a link
annotation on the document's first page, which tells where each document
starts (the Debian build of wkhtmltopdf has no outlines nor multi-document
input, so those cannot be used).  The marker annotations are removed from the
output.  HTML goes in on stdin and the PDF comes out on stdout: no temp files.
"""

import io
import logging
import os
import re
import shutil
import subprocess

from . import lossless, split_qpdf
from .errors import RenderError
from .split_qpdf import pikepdf

# pypdf is the maintained name; Odoo 17 ships PyPDF2 2.12 (Python 3.11+) or
# 1.26 (Python <= 3.10).  The few calls used here exist in all three.
try:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, NameObject
except ImportError:  # pragma: no cover - depends on the environment
    from PyPDF2.generic import ArrayObject, NameObject

    try:
        from PyPDF2 import PdfReader, PdfWriter
    except ImportError:
        from PyPDF2 import PdfFileReader as PdfReader
        from PyPDF2 import PdfFileWriter as PdfWriter

_logger = logging.getLogger(__name__)

BINARY_ENV = "G2P_WKHTMLTOPDF"
INSTALL_HINT = (
    "wkhtmltopdf is not installed (or not on PATH): install the operating-system"
    " package (Debian/Ubuntu: apt-get install wkhtmltopdf), or set %s to the"
    " binary's path."
    " Note: the PyPI package named 'wkhtmltopdf' is NOT the binary." % BINARY_ENV
)
DEFAULT_OPTIONS = {
    "quiet": True,
    "encoding": "utf-8",
    # Templates embed images as data URIs; never let one read server files.
    "disable-local-file-access": True,
}
MAX_DOCUMENTS_PER_RUN = 250
_MARKER_URI = "https://g2p-voucher-split.invalid/"
_MARKER_STYLE = (
    "display:block;width:1px;height:1px;margin:0 0 -1px 0;padding:0;border:0;"
    "overflow:hidden;font-size:1px;line-height:1px;color:transparent;text-decoration:none"
)
_HEAD_RE = re.compile(r"<head\b[^>]*>(.*?)</head\s*>", re.IGNORECASE | re.DOTALL)
_BODY_RE = re.compile(r"<body\b([^>]*)>(.*)</body\s*>", re.IGNORECASE | re.DOTALL)
_HTML_RE = re.compile(r"<html\b([^>]*)>", re.IGNORECASE)
_SHELL_RE = re.compile(
    r"<!DOCTYPE[^>]*>|</?html\b[^>]*>|</?body\b[^>]*>", re.IGNORECASE
)


def wkhtmltopdf_binary() -> str:
    """Path of the wkhtmltopdf binary (``$G2P_WKHTMLTOPDF`` or PATH)."""
    configured = os.environ.get(BINARY_ENV)
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise RenderError(
            "%s=%s is not an executable file. %s"
            % (BINARY_ENV, configured, INSTALL_HINT)
        )
    found = shutil.which("wkhtmltopdf")
    if not found:
        raise RenderError(INSTALL_HINT)
    return found


def _command(options: dict | None) -> list:
    merged = dict(DEFAULT_OPTIONS)
    for name, value in (options or {}).items():
        merged[name.lstrip("-")] = value
    args = [wkhtmltopdf_binary()]
    for name, value in merged.items():
        if value is False or value is None:
            continue
        args.append("--" + name)
        if value is not True and value != "":
            args.append(str(value))
    return args + ["-", "-"]


def _run(html: str, options: dict | None, documents: int = 1) -> bytes:
    command = _command(options)
    try:
        result = subprocess.run(
            command,
            input=html.encode("utf-8"),
            capture_output=True,
            timeout=60 + 2 * documents,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(
            "wkhtmltopdf did not finish within %d s" % exc.timeout
        ) from exc
    except OSError as exc:
        raise RenderError(
            "cannot run wkhtmltopdf: %s. %s" % (exc, INSTALL_HINT)
        ) from exc
    # Exit code 1 also means "a resource failed to load" while the PDF is fine.
    if result.returncode in (0, 1) and result.stdout.startswith(b"%PDF"):
        return result.stdout
    message = result.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
    raise RenderError(
        "wkhtmltopdf failed (exit code %s): %s"
        % (result.returncode, " | ".join(message))
    )


def html_to_pdf(html: str, options: dict | None = None) -> bytes:
    """One HTML document to PDF bytes."""
    if not isinstance(html, str) or not html.strip():
        raise RenderError("cannot render an empty HTML document to PDF")
    return split_qpdf.compact(_run(html, options), lossless.bitmaps_in_html(html))


def _split_html(html: str):
    """((html attributes, head inner HTML, body attributes), body inner HTML)."""
    opening = _HTML_RE.search(html)
    html_attrs = opening.group(1).strip() if opening else ""
    head = _HEAD_RE.search(html)
    head_html = head.group(1).strip() if head else ""
    rest = html[: head.start()] + html[head.end() :] if head else html
    body = _BODY_RE.search(rest)
    if body:
        return (html_attrs, head_html, body.group(1).strip()), body.group(2)
    return (html_attrs, head_html, ""), _SHELL_RE.sub("", rest)


def _combine(shell, bodies) -> str:
    """One document: the shared shell, each body after a page-break marker."""
    html_attrs, head, body_attrs = shell
    parts = [
        "<!DOCTYPE html><html%s><head>" % (" " + html_attrs if html_attrs else ""),
        '<meta charset="utf-8"/>',
        head,
        "</head><body%s>" % (" " + body_attrs if body_attrs else ""),
    ]
    for index, body in enumerate(bodies):
        style = _MARKER_STYLE + (";page-break-before:always" if index else "")
        parts.append(
            '<a href="%s%d" style="%s">&#8203;</a>' % (_MARKER_URI, index, style)
        )
        parts.append(body)
    parts.append("</body></html>")
    return "".join(parts)


def resolve(obj):
    """Dereference a PDF object (``get_object``; ``getObject`` in PyPDF2 1.x)."""
    getter = getattr(obj, "get_object", None) or getattr(obj, "getObject", None)
    return getter() if getter else obj


def _marker_index(annotation):
    action = resolve(annotation).get("/A")
    uri = action.get("/URI") if action is not None else None
    if isinstance(uri, bytes):
        uri = uri.decode("latin-1")
    if uri and str(uri).startswith(_MARKER_URI):
        tail = str(uri)[len(_MARKER_URI) :]
        return int(tail) if tail.isdigit() else None
    return None


def _bounds(starts, count, page_total):
    """First page of each document and the page total, from the markers
    found ((page, document index) in page order); None if they do not fit."""
    pages = [start for start, _index in starts]
    if [index for _start, index in starts] != list(range(count)) or pages[:1] != [0]:
        return None
    if any(b <= a for a, b in zip(pages, pages[1:], strict=False)):
        return None
    return pages + [page_total]


def _split_pdf(data: bytes, count: int, bitmaps=None):
    """Split a combined PDF at the marker links; None when they are not found.

    ``bitmaps``: per document, its 1-bit images (``lossless.bitmaps_in_html``),
    put back exactly with the fonts trimmed when pikepdf is installed (pypdf,
    the fallback, only splits).
    """
    if pikepdf is not None:
        return split_qpdf.split(data, count, bitmaps, _MARKER_URI, _bounds)
    reader = PdfReader(io.BytesIO(data))
    starts = []
    for page_number, page in enumerate(reader.pages):
        annots = page.get("/Annots")
        if annots is None:
            continue
        annots = resolve(annots)
        kept = []
        for annotation in annots:
            index = _marker_index(annotation)
            if index is None:
                kept.append(annotation)
            elif not starts or starts[-1][1] != index:
                starts.append((page_number, index))
        if len(kept) != len(annots):
            if kept:
                page[NameObject("/Annots")] = ArrayObject(kept)
            else:
                del page[NameObject("/Annots")]
    bounds = _bounds(starts, count, len(reader.pages))
    if bounds is None:
        return None
    all_pages = list(reader.pages)
    outputs = []
    for index in range(count):
        own = all_pages[bounds[index] : bounds[index + 1]]
        writer = PdfWriter()
        add_page = getattr(writer, "add_page", None) or writer.addPage
        for page in own:
            add_page(page)
        buffer = io.BytesIO()
        writer.write(buffer)
        outputs.append(buffer.getvalue())
    return outputs


def htmls_to_pdfs(
    htmls: list,
    options: dict | None = None,
    *,
    max_per_run: int = MAX_DOCUMENTS_PER_RUN,
) -> list:
    """One PDF per HTML document, rendered by as few wkhtmltopdf runs as possible.

    Documents sharing the same ``<head>`` and ``<html>``/``<body>`` attributes
    (the usual case: one template for a batch) go through one process per
    ``max_per_run`` documents.  Should the split markers ever not be found, the affected
    documents are rendered one by one, so the result stays correct.
    """
    htmls = list(htmls)
    for position, html in enumerate(htmls):
        if not isinstance(html, str) or not html.strip():
            raise RenderError("HTML document #%d is empty" % (position + 1))
    if not htmls:
        return []
    wkhtmltopdf_binary()  # fail early with the install hint
    groups = {}
    for position, html in enumerate(htmls):
        shell, body = _split_html(html)
        groups.setdefault(shell, []).append((position, body))
    results = [None] * len(htmls)
    for shell, members in groups.items():
        for offset in range(0, len(members), max_per_run):
            chunk = members[offset : offset + max_per_run]
            bitmaps = [lossless.bitmaps_in_html(body) for _pos, body in chunk]
            if len(chunk) == 1:
                position = chunk[0][0]
                results[position] = split_qpdf.compact(
                    _run(htmls[position], options), bitmaps[0]
                )
                continue
            combined = _combine(shell, [body for _pos, body in chunk])
            pdfs = _split_pdf(_run(combined, options, len(chunk)), len(chunk), bitmaps)
            if pdfs is None:
                _logger.warning(
                    "could not split a %d-document PDF; rendering them one by one",
                    len(chunk),
                )
                pdfs = [
                    split_qpdf.compact(_run(htmls[pos], options), bits)
                    for (pos, _body), bits in zip(chunk, bitmaps, strict=True)
                ]
            for (position, _body), pdf in zip(chunk, pdfs, strict=True):
                results[position] = pdf
    return results
