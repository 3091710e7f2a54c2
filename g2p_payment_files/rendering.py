"""Template rendering shared by file and QR code configs (Odoo side).

Both template kinds are rendered for many records at once: a QWeb body is
compiled ONCE and looped over the records (the output is split on a random
marker), and an inline template is parsed once.  A failure is reported as a
``TemplateError`` carrying the record that failed, so callers can name it.
"""

import ast
import copy
import json
import re
import uuid

from lxml import etree
from markupsafe import Markup

from odoo.tools.rendering_tools import (
    INLINE_TEMPLATE_REGEX,
    parse_inline_template,
    render_inline_template,
)
from odoo.tools.safe_eval import _SAFE_OPCODES, test_expr

_DOCTYPE_RE = re.compile(r"^\s*(<\?xml[^>]*\?>)?\s*(<!DOCTYPE[^>]*>)?", re.IGNORECASE)


# A voucher template prints the fields of its records, as the user who
# prepares the vouchers may read them.  Reaching other records or other
# rights (``object.env[...]``, ``user.sudo()``...) could print any secret of
# the database onto a voucher, so templates may not name these.
UNSAFE_NAMES = frozenset(
    (
        "env",
        "sudo",
        "with_user",
        "with_env",
        "with_company",
        "with_context",
        "browse",
        "search",
        "search_read",
        "search_count",
        "search_fetch",
        "read",
        "read_group",
        "fetch",
        "write",
        "create",
        "copy",
        "unlink",
        "ref",
        "cr",
        "pool",
        "registry",
    )
)


def unsafe_name(expr):
    """The first forbidden name an expression uses, or None."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return None  # reported as invalid by the compile check
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        if name and (name in UNSAFE_NAMES or name.startswith("_")):
            return name
    return None


class TemplateError(Exception):
    """A template could not be parsed or rendered for ``record`` (or any)."""

    def __init__(self, message, record=None):
        super().__init__(message)
        self.record = record


def _json_dumps(value):
    """``{{ json_dumps(object.name) }}`` quotes a value for a JSON template."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _csv_quote(value):
    """``<t t-out="csv_quote(p.partner_id.name)"/>``: one RFC 4180 CSV field."""
    text = "" if value is None or value is False else str(value)
    if any(char in text for char in ',"\r\n'):
        return '"%s"' % text.replace('"', '""')
    return text


def base_values(env, records):
    values = env["mail.render.mixin"]._render_eval_context()
    values.update(
        docs=records,
        company=env.company,
        json_dumps=_json_dumps,
        csv_quote=_csv_quote,
    )
    return values


def record_values(record):
    return {
        "object": record,
        "record": record,
        "doc": record,
        "qrcodes": record.qrcode_ids if "qrcode_ids" in record._fields else None,
    }


def render_inline(env, template_txt, records):
    """Render a ``{{ expr }}`` template per record: {record id: text}."""
    check_inline(template_txt)  # also templates saved before a rule was added
    try:
        instructions = parse_inline_template(str(template_txt or ""))
    except Exception as exc:
        raise TemplateError(str(exc)) from exc
    values = base_values(env, records)
    results = {}
    for record in records:
        values.update(record_values(record))
        try:
            results[record.id] = render_inline_template(instructions, values)
        except Exception as exc:
            raise TemplateError(str(exc), record) from exc
    return results


def _parse_qweb(template_src):
    """The QWeb body as an element, keeping any DOCTYPE aside for the output."""
    text = template_src or ""
    head = _DOCTYPE_RE.match(text)
    doctype = (head.group(2) or "") if head else ""
    body = text[head.end() :] if head else text
    # Lines taken by the DOCTYPE, so reported lines are those of the template.
    skipped = text[: head.end()].count("\n") if head else 0
    try:
        return etree.fromstring("<t>%s</t>" % body), doctype
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise TemplateError(
            "the template is not well-formed XML (line %s, column %s): %s"
            % (line + skipped, column, exc.msg)
        ) from exc


def _line_offset(template_src):
    text = template_src or ""
    head = _DOCTYPE_RE.match(text)
    return text[: head.end()].count("\n") if head else 0


_QWEB_EXPRESSION_ATTRIBUTES = frozenset(
    ("t-if", "t-elif", "t-foreach", "t-out", "t-esc", "t-raw", "t-value")
    + ("t-att", "t-options")
)


def _is_expression_attribute(name):
    if name in _QWEB_EXPRESSION_ATTRIBUTES:
        return True
    return name.startswith(("t-att-", "t-options-"))


_FORMAT_EXPRESSION_RE = re.compile(r"\{\{(.+?)\}\}|#\{(.+?)\}")


def _format_expressions(text):
    """The expressions of a ``t-attf-*`` format string."""
    return [a or b for a, b in _FORMAT_EXPRESSION_RE.findall(text or "")]


def check_qweb(env, template_src):
    """Raise ``TemplateError`` (with its line) if a QWeb body does not compile.

    Nothing is rendered: only the XML and the expressions are checked, so a
    template that compiles may still fail for a given record at Prepare.
    """
    if not (template_src or "").strip():
        return
    element, _doctype = _parse_qweb(template_src)
    offset = _line_offset(template_src)
    qweb = env["ir.qweb"]
    for node in element.iter(etree.Element):
        for name, expr in node.attrib.items():
            if name.startswith("t-attf-"):
                forbidden = next(
                    filter(None, map(unsafe_name, _format_expressions(expr))), None
                )
            elif _is_expression_attribute(name):
                forbidden = unsafe_name(expr)
            else:
                continue
            if forbidden:
                raise TemplateError(
                    'line %s: %s="%s" uses %r: a template prints the fields of its '
                    "records only, it cannot reach other records or rights"
                    % ((node.sourceline or 1) + offset, name, expr, forbidden)
                )
            if not _is_expression_attribute(name):
                continue
            try:
                qweb._compile_expr(expr)
            except Exception as exc:
                raise TemplateError(
                    'line %s: %s="%s" is not a valid expression: %s'
                    % ((node.sourceline or 1) + offset, name, expr, _short_error(exc))
                ) from exc
    try:
        qweb._compile(element)
    except Exception as exc:
        raise TemplateError(
            "the template does not compile: %s" % _short_error(exc)
        ) from exc


def check_inline(template_txt):
    """Raise ``TemplateError`` (with its line) if a ``{{ expr }}`` body does not
    parse: an expression that is not valid Python or an unclosed ``{{``."""
    text = str(template_txt or "")
    position = 0
    for match in INLINE_TEMPLATE_REGEX.finditer(text):
        _check_unclosed(text, position, match.start())
        expr = match.group(1).strip()
        line = text.count("\n", 0, match.start()) + 1
        forbidden = unsafe_name(expr)
        if forbidden:
            raise TemplateError(
                "line %s: {{ %s }} uses %r: a template prints the fields of its "
                "records only, it cannot reach other records or rights"
                % (line, expr, forbidden)
            )
        try:
            test_expr(expr, _SAFE_OPCODES, mode="eval")
        except Exception as exc:
            raise TemplateError(
                "line %s: {{ %s }} is not a valid expression: %s"
                % (line, expr, _short_error(exc))
            ) from exc
        position = match.end()
    _check_unclosed(text, position, len(text))


def _check_unclosed(text, start, end):
    index = text.find("{{", start, end)
    if index >= 0:
        raise TemplateError(
            "line %s: this {{ has no closing }}" % (text.count("\n", 0, index) + 1)
        )


def render_qweb(env, template_src, records):
    """Render a QWeb body for all records in one pass: {record id: text}."""
    check_qweb(env, template_src)  # also templates saved before a rule was added
    element, doctype = _parse_qweb(template_src)
    marker = Markup("<!--g2p-voucher-split-%s-->" % uuid.uuid4().hex)
    loop = etree.Element("t")
    foreach = etree.SubElement(loop, "t")
    foreach.set("t-foreach", "docs")
    foreach.set("t-as", "g2p_internal_record")
    for name, expr in (
        ("object", "g2p_internal_record"),
        ("record", "g2p_internal_record"),
        ("doc", "g2p_internal_record"),
        ("qrcodes", "g2p_internal_qrcodes(g2p_internal_record)"),
    ):
        setter = etree.SubElement(foreach, "t")
        setter.set("t-set", name)
        setter.set("t-value", expr)
    foreach.append(element)
    out = etree.SubElement(foreach, "t")
    out.set("t-out", "g2p_internal_marker")
    values = base_values(env, records)
    values["g2p_internal_marker"] = marker
    values["g2p_internal_qrcodes"] = lambda rec: record_values(rec)["qrcodes"]
    try:
        # QWeb compiles (and alters) the element it is given: pass copies.
        rendered = str(env["ir.qweb"]._render(copy.deepcopy(loop), values))
        parts = rendered.split(str(marker))
        if len(parts) != len(records) + 1:
            raise TemplateError("the template output contains the split marker")
    except TemplateError:
        raise
    except Exception as exc:
        # Find the record that fails, so the error can name it.
        for record in records:
            try:
                env["ir.qweb"]._render(copy.deepcopy(loop), dict(values, docs=record))
            except Exception as rec_exc:
                raise TemplateError(_short_error(rec_exc), record) from rec_exc
        raise TemplateError(_short_error(exc)) from exc
    return {rec.id: doctype + part for rec, part in zip(records, parts, strict=False)}


def _short_error(exc):
    """The first line of a (QWeb) exception, without the compiled code dump."""
    cause = exc.__cause__ or exc
    text = "%s: %s" % (type(cause).__name__, cause)
    return text.splitlines()[0][:500]
