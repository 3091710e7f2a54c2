"""Closing summary of setup/test.sh.

Reads the tiers' exit codes and result files (.work/junit-pure.xml, and per
Odoo tier .work/odoo-result-BASE.json, .work/junit-e2e-BASE.xml, BASE being
standin or openg2p) and prints one line per tier
and a last line ``total: N passed, N failed, N skipped``.  Exit status 1 when
any tier failed.  A tier that failed without countable tests (lint, an
install error, a crash) counts as one failure so the total never reads
"0 failed" for a red run.
"""

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SKIPPED_RC = 3


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other):
        return Counts(
            self.passed + other.passed,
            self.failed + other.failed,
            self.skipped + other.skipped,
        )

    def text(self):
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def junit_counts(path):
    """Counts from a pytest junit XML file, or None when absent/unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = Counts()
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        total += Counts(max(tests - failed - skipped, 0), failed, skipped)
    return total


def parse_rc(text):
    rc, _, seconds = text.partition(":")
    return int(rc), int(seconds or 0)


def parse_tier(text):
    """ "base:rc:seconds" -> (base, rc, seconds)."""
    base, _, rest = text.partition(":")
    return (base, *parse_rc(rest))


def _odoo_tier(work, base, odoo_rc, odoo_s):
    """(counts, lines, ok) of one Odoo tier (one base)."""
    label = f"odoo ({base} base)"
    if odoo_rc == SKIPPED_RC:
        return Counts(), [f"{label}: skipped"], True
    try:
        result = json.loads((work / f"odoo-result-{base}.json").read_text())
    except (OSError, ValueError):
        result = {}
    o = result.get("odoo") or {}
    failed = o.get("failed", 0) + o.get("errors", 0)
    counts = Counts(max(o.get("tests", 0) - failed, 0), failed)
    if odoo_rc != 0 and not failed and o.get("problems"):
        counts.failed = 1  # install error, ERROR log line, crash...
    lines = [
        f"{label}: {o.get('tests', 0)} tests, {o.get('failed', 0)} failed, "
        f"{o.get('errors', 0)} errors ({o.get('seconds', 0):.0f} s)"
        + (f" FAILED: {'; '.join(o.get('problems', []))}" if o.get("problems") else "")
    ]
    e2e = junit_counts(work / f"junit-e2e-{base}.xml")
    if e2e is not None:
        seconds = (result.get("e2e") or {}).get("seconds", 0)
        lines.append(f"e2e ({base} base): {e2e.text()} ({seconds:.0f} s)")
        counts += e2e
    if odoo_rc != 0:
        if not counts.failed:
            counts += Counts(failed=1)
        lines.append(f"{label} FAILED (exit {odoo_rc}, {odoo_s} s)")
    return counts, lines, odoo_rc == 0


def summarise(work, lint, pure, odoo_tiers):
    """Return (lines, ok); odoo_tiers is [(base, rc, seconds), ...]."""
    work = Path(work)
    lines = []
    total = Counts()
    ok = True

    lint_rc, lint_s = lint
    if lint_rc == SKIPPED_RC:
        lines.append("lint: skipped")
    elif lint_rc == 0:
        lines.append(f"lint: clean ({lint_s} s)")
    else:
        lines.append(f"lint: FAILED ({lint_s} s; see the ruff/pylint output above)")
        total += Counts(failed=1)
        ok = False

    pure_rc, pure_s = pure
    counts = junit_counts(work / "junit-pure.xml") or Counts()
    if pure_rc != 0:
        ok = False
        if not counts.failed:
            counts.failed = 1  # no tests, or pytest itself failed
    lines.append(
        f"pure: {counts.text()} ({pure_s} s)"
        + ("" if pure_rc == 0 else f" FAILED (pytest exit {pure_rc})")
    )
    total += counts

    for base, odoo_rc, odoo_s in odoo_tiers:
        counts, tier_lines, tier_ok = _odoo_tier(work, base, odoo_rc, odoo_s)
        lines += tier_lines
        total += counts
        ok = ok and tier_ok
    lines.append(f"total: {total.text()}")
    return lines, ok


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--lint", type=parse_rc, required=True)
    p.add_argument("--pure", type=parse_rc, required=True)
    p.add_argument(
        "--odoo",
        type=parse_tier,
        action="append",
        default=[],
        help="base:rc:seconds of one Odoo tier (repeatable)",
    )
    args = p.parse_args(argv)
    lines, ok = summarise(args.work, args.lint, args.pure, args.odoo)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
