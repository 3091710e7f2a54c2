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
    path.write_text(
        JUNIT.format(tests=tests, failures=failures, errors=errors, skipped=skipped)
    )


def write_odoo(work, tests, failed=0, errors=0, problems=(), base="standin"):
    (work / f"odoo-result-{base}.json").write_text(
        json.dumps(
            {
                "status": "failed" if problems else "passed",
                "odoo": {
                    "tests": tests,
                    "failed": failed,
                    "errors": errors,
                    "seconds": 61.2,
                    "problems": list(problems),
                },
            }
        )
    )


def test_all_green_sums_every_tier(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=10, skipped=2)
    write_odoo(tmp_path, tests=30)
    write_junit(tmp_path / "junit-e2e-standin.xml", tests=4)
    lines, ok = summary.summarise(tmp_path, (0, 5), (0, 7), [("standin", 0, 200)])
    assert ok
    assert lines[-1] == "total: 42 passed, 0 failed, 2 skipped"


def test_skipped_odoo_tier_counts_nothing_and_passes(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=3)
    lines, ok = summary.summarise(tmp_path, (0, 1), (0, 1), [("standin", 3, 0)])
    assert ok
    assert "odoo (standin base): skipped" in lines
    assert lines[-1] == "total: 3 passed, 0 failed, 0 skipped"


def test_lint_failure_is_one_failure(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=3)
    lines, ok = summary.summarise(tmp_path, (1, 9), (0, 1), [("standin", 3, 0)])
    assert not ok
    assert lines[-1] == "total: 3 passed, 1 failed, 0 skipped"


def test_pure_tier_without_tests_fails(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=0)
    lines, ok = summary.summarise(tmp_path, (0, 1), (5, 1), [("standin", 3, 0)])
    assert not ok
    assert lines[-1] == "total: 0 passed, 1 failed, 0 skipped"


def test_error_log_line_without_failing_test_still_reads_failed(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=2)
    write_odoo(tmp_path, tests=30, problems=["1 ERROR/CRITICAL log record(s)"])
    lines, ok = summary.summarise(tmp_path, (0, 1), (0, 1), [("standin", 1, 90)])
    assert not ok
    assert lines[-1] == "total: 32 passed, 1 failed, 0 skipped"
    assert any("ERROR/CRITICAL" in line for line in lines)


def test_failing_odoo_tests_are_counted(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=2)
    write_odoo(tmp_path, tests=30, failed=2, errors=1, problems=["3 failing"])
    lines, ok = summary.summarise(tmp_path, (0, 1), (0, 1), [("standin", 1, 90)])
    assert not ok
    assert lines[-1] == "total: 29 passed, 3 failed, 0 skipped"


def test_two_bases_are_summed_and_each_gets_its_line(tmp_path):
    write_junit(tmp_path / "junit-pure.xml", tests=5)
    write_odoo(tmp_path, tests=30)
    write_odoo(tmp_path, tests=28, failed=1, problems=["1 failing"], base="openg2p")
    write_junit(tmp_path / "junit-e2e-standin.xml", tests=4)
    write_junit(tmp_path / "junit-e2e-openg2p.xml", tests=4, failures=1)
    lines, ok = summary.summarise(
        tmp_path, (0, 1), (0, 1), [("standin", 0, 100), ("openg2p", 1, 120)]
    )
    assert not ok
    assert any(line.startswith("odoo (standin base): 30 tests") for line in lines)
    real = "odoo (openg2p base): 28 tests, 1 failed"
    assert any(line.startswith(real) for line in lines)
    assert "e2e (openg2p base): 3 passed, 1 failed, 0 skipped (0 s)" in lines
    assert lines[-1] == "total: 69 passed, 2 failed, 0 skipped"


def test_tier_argument_parses_base_rc_and_seconds():
    assert summary.parse_tier("openg2p:1:95") == ("openg2p", 1, 95)
