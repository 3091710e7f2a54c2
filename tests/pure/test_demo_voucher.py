"""The demo voucher tells the truth: what it prints is what its code signs."""

import re
import sys
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "setup"))

import demo_data  # noqa: E402

# object.partner_id.reg_ids[:1].value, company.name, ...
_CHAIN_RE = re.compile(r"\b(?:object|company)(?:\.\w+|\[[^\]]*\])+")
_EXPRESSION_ATTRIBUTES = ("t-out", "t-esc", "t-raw")


def _printed_chains():
    body = re.sub(r"^<!DOCTYPE[^>]*>", "", demo_data.VOUCHER_TEMPLATE)
    root = etree.fromstring(body)
    chains = set()
    for node in root.iter():
        for name in _EXPRESSION_ATTRIBUTES:
            chains.update(_CHAIN_RE.findall(node.get(name) or ""))
    return chains


def test_every_detail_the_voucher_prints_is_a_signed_claim():
    printed = _printed_chains()
    assert "object.partner_id.phone" in printed
    assert "company.name" in printed
    claims = demo_data.VOUCHER_CLAIMS
    unsigned = sorted(chain for chain in printed if chain not in claims)
    assert unsigned == [], "printed but not signed: %s" % unsigned


def test_the_barcode_carries_the_full_reference_and_the_dates_are_the_signed_ones():
    assert demo_data.VOUCHER_BARCODE == "{{ object.name }}"
    template = demo_data.VOUCHER_TEMPLATE
    assert "Payment reference, in full" in template
    assert "qr.issued_at" in template and "qr.expires_at" in template
    assert "format_amount(object.amount_issued, object.currency_id)" in template
    assert "altering any field" not in template
    assert int(demo_data.VOUCHER_VALIDITY_DAYS) > 0
    assert demo_data.VOUCHERS_PER_PAGE in ("1", "2", "4", "8")
