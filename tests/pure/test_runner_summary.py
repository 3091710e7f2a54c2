"""setup/test.sh's closing summary (tests/odoo_tier/summary.py)."""

import importlib.util
import json
from pathlib import Path

TIER = Path(__file__).resolve().parent.parent / "odoo_tier"
_spec = importlib.util.spec_from_file_location("_g2p_summary", TIER / "summary.py")
summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(summary)

JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
    'errors="{errors}" failures="{failures}" skipped="{skipped}" tests="{tests}">'
    "</testsuite></testsuites>"
)


def write_junit(path, tests, failures=0, errors=0, skipped=0):
    path.write_text(JUNIT.format(
        tests=tests, failures=failures, errors=errors, skipped=skipped
    ))


def write_odoo(work, tests, failed=0, errors=0, problems=()):
    (work / "odoo-result.json").write_text(json.dumps({
        "status": "failed" if problems else "passed",
        "odoo": {"tests": tests, "failed": failed, "errors": errors,
                 "seconds": 61.2, "problems": list(problems)},
    }))


def test_all_green_sums_every_tier(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=10, skipped=2)
    write_odoo(tmp_path, tests=30)
    write_junit(tmp_path / "junit-e2e.xml", tests=4)
    lines, ok = summary.summarise(tmp_path, (0, 5), (0, 7), (0, 200))
    assert ok
    assert lines[-1] == "total: 42 passed, 0 failed, 2 skipped"


def test_skipped_odoo_tier_counts_nothing_and_passes(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=3)
    lines, ok = summary.summarise(tmp_path, (0, 1), (0, 1), (3, 0))
    assert ok
    assert "odoo: skipped (no Odoo 17)" in lines
    assert lines[-1] == "total: 3 passed, 0 failed, 0 skipped"


def test_lint_failure_is_one_failure(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=3)
    lines, ok = summary.summarise(tmp_path, (1, 9), (0, 1), (3, 0))
    assert not ok
    assert lines[-1] == "total: 3 passed, 1 failed, 0 skipped"


def test_pure_tier_without_tests_fails(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=0)
    lines, ok = summary.summarise(tmp_path, (0, 1), (5, 1), (3, 0))
    assert not ok
    assert lines[-1] == "total: 0 passed, 1 failed, 0 skipped"


def test_error_log_line_without_failing_test_still_reads_failed(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=2)
    write_odoo(tmp_path, tests=30, problems=["1 ERROR/CRITICAL log record(s)"])
    lines, ok = summary.summarise(tmp_path, (0, 1), (0, 1), (1, 90))
    assert not ok
    assert lines[-1] == "total: 32 passed, 1 failed, 0 skipped"
    assert any("ERROR/CRITICAL" in line for line in lines)


def test_failing_odoo_tests_are_counted(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=2)
    write_odoo(tmp_path, tests=30, failed=2, errors=1, problems=["3 failing"])
    lines, ok = summary.summarise(tmp_path, (0, 1), (0, 1), (1, 90))
    assert not ok
    assert lines[-1] == "total: 29 passed, 3 failed, 0 skipped"
