"""Parse the log of an ``odoo-bin --test-enable --stop-after-init`` run.

Pure Python (no Odoo import) so the pure tier can test it.  The verdict is
deliberately strict: any ERROR or CRITICAL record fails the run, even when
Odoo's own test counters say everything passed, because install-time
problems (a broken view, a failed data file, an exception in a cron run by
a test) are logged but not counted as test failures.
"""

import re
from dataclasses import dataclass, field

# Odoo's handler format: '%(asctime)s %(pid)s %(levelname)s %(dbname)s
# %(name)s: %(message)s %(perf_info)s'.  Lines not matching it belong to the
# previous record (tracebacks, multi-line messages) or to raw stderr output.
RECORD_RE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<pid>\d+) "
    r"(?P<level>[A-Z]+) (?P<db>\S+) (?P<logger>[^\s:]+): (?P<msg>.*)$"
)
RESULT_RE = re.compile(
    r"(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<tests>\d+) tests "
    r"when loading database '(?P<db>[^']*)'"
)
# Test outcome records written by odoo.tests.result.OdooTestResult.logError.
OUTCOME_RE = re.compile(r"^(?P<kind>FAIL|ERROR): (?P<test>\S+)")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
BAD_LEVELS = ("ERROR", "CRITICAL")


@dataclass
class Record:
    lineno: int
    level: str
    db: str
    logger: str
    message: str
    extra: list = field(default_factory=list)

    @property
    def text(self):
        return "\n".join([self.message, *self.extra])

    def headline(self):
        return f"line {self.lineno}: {self.level} {self.logger}: {self.message}"


@dataclass
class OdooLogReport:
    records: list = field(default_factory=list)
    preamble: list = field(default_factory=list)
    tests: int = 0
    failed: int = 0
    errors: int = 0
    result_seen: bool = False
    failing_tests: list = field(default_factory=list)

    @property
    def bad_records(self):
        return [r for r in self.records if r.level in BAD_LEVELS]

    @property
    def warnings(self):
        return [r for r in self.records if r.level == "WARNING"]

    def problems(self, require_tests=True):
        """Reasons the run must be considered failed (empty list: passed)."""
        reasons = []
        if not self.result_seen:
            reasons.append(
                "no test result line in the log (Odoo crashed or tests were "
                "not enabled)"
            )
        if self.failed or self.errors:
            reasons.append(
                f"{self.failed} failed and {self.errors} erroring test(s): "
                + ", ".join(self.failing_tests)
            )
        if require_tests and self.result_seen and not self.tests:
            reasons.append("Odoo ran no test at all (check --test-tags / modules)")
        bad = self.bad_records
        if bad:
            reasons.append(f"{len(bad)} ERROR/CRITICAL log record(s)")
        return reasons


def parse_records(text):
    """Split log text into records; returns (records, preamble_lines)."""
    records = []
    preamble = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = ANSI_RE.sub("", raw)
        m = RECORD_RE.match(line)
        if m:
            records.append(
                Record(
                    lineno=lineno,
                    level=m["level"],
                    db=m["db"],
                    logger=m["logger"],
                    message=m["msg"].rstrip(),
                )
            )
        elif records:
            records[-1].extra.append(line)
        else:
            preamble.append(line)
    return records, preamble


def analyse(text):
    records, preamble = parse_records(text)
    report = OdooLogReport(records=records, preamble=preamble)
    for rec in records:
        if rec.logger == "odoo.tests.result":
            m = RESULT_RE.search(rec.message)
            if m:
                report.result_seen = True
                report.tests += int(m["tests"])
                report.failed += int(m["failed"])
                report.errors += int(m["errors"])
                continue
        if rec.level in BAD_LEVELS:
            m = OUTCOME_RE.match(rec.message)
            if m:
                name = m["test"]
                # The logger is the test module (odoo.addons.<mod>.tests.<file>).
                module = rec.logger.split(".")
                if len(module) > 2 and module[:2] == ["odoo", "addons"]:
                    name = f"{module[2]}: {name}"
                report.failing_tests.append(f"{m['kind']} {name}")
    return report


def summary_line(report, seconds):
    return (
        f"Odoo tier: {report.tests} tests, {report.failed} failed, "
        f"{report.errors} errors, {seconds:.0f} s"
    )
