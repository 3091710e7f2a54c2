"""The Odoo-tier runner's log judge (tests/odoo_tier/odoo_log.py)."""

import importlib.util
from pathlib import Path

TIER = Path(__file__).resolve().parent.parent / "odoo_tier"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_g2p_{name}", TIER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


odoo_log = _load("odoo_log")

TS = "2026-11-23 22:40:48,213 17858"
DB = "g2p_test_tier_1"


def line(level, logger, msg, db=DB):
    return f"{TS} {level} {db} {logger}: {msg} "


def result_line(failed=0, errors=0, tests=3, level="INFO"):
    return line(
        level,
        "odoo.tests.result",
        f"{failed} failed, {errors} error(s) of {tests} tests when loading "
        f"database '{DB}'",
    )


CLEAN_RUN = "\n".join(
    [
        "# /venv/bin/python odoo-bin -d g2p_test_tier_1 ...",
        "Running as user 'root' is a security risk.",
        line("INFO", "odoo", "Odoo version 17.0", db="?"),
        line("WARNING", "odoo.addons.base.models.res_lang", "no translation for fr"),
        line("INFO", "odoo.service.server", "Starting post tests"),
        line("INFO", "odoo.tests.stats", "g2p_programs: 3 tests 0.14s 8 queries"),
        result_line(),
    ]
)


def test_clean_run_passes_and_counts_tests():
    report = odoo_log.analyse(CLEAN_RUN)
    assert (report.tests, report.failed, report.errors) == (3, 0, 0)
    assert report.problems() == []
    assert len(report.warnings) == 1
    assert report.preamble[1] == "Running as user 'root' is a security risk."


def test_failing_test_is_named_with_its_module():
    text = "\n".join(
        [
            line("INFO", "odoo.service.server", "Starting post tests"),
            line("INFO", "odoo.addons.g2p_payment_files.tests.test_batch", "=" * 70),
            line(
                "ERROR",
                "odoo.addons.g2p_payment_files.tests.test_batch",
                "FAIL: TestBatch.test_voucher_signed_once",
            ),
            "Traceback (most recent call last):",
            '  File "test_batch.py", line 9, in test_voucher_signed_once',
            "AssertionError: 2 != 1",
            line(
                "ERROR",
                "odoo.addons.g2p_payment_files.tests.test_batch",
                "ERROR: TestBatch.test_pdf",
            ),
            "ValueError: boom",
            result_line(failed=1, errors=1, tests=5, level="ERROR"),
        ]
    )
    report = odoo_log.analyse(text)
    assert (report.tests, report.failed, report.errors) == (5, 1, 1)
    assert report.failing_tests == [
        "FAIL g2p_payment_files: TestBatch.test_voucher_signed_once",
        "ERROR g2p_payment_files: TestBatch.test_pdf",
    ]
    # The traceback stays attached to its record.
    first = report.bad_records[0]
    assert first.extra[-1] == "AssertionError: 2 != 1"
    problems = report.problems()
    assert any("TestBatch.test_voucher_signed_once" in p for p in problems)


def test_error_record_fails_even_when_all_tests_pass():
    text = (
        CLEAN_RUN
        + "\n"
        + line(
            "ERROR",
            "odoo.addons.g2p_payment_simple_mpesa.models.payment_manager",
            "Dispatch of batch 7 crashed",
        )
    )
    report = odoo_log.analyse(text)
    assert (report.failed, report.errors) == (0, 0)
    assert report.problems() == ["1 ERROR/CRITICAL log record(s)"]


def test_critical_install_failure_without_result_line_fails():
    text = "\n".join(
        [
            line("INFO", "odoo.modules.loading", "loading 12 modules..."),
            line(
                "CRITICAL",
                "odoo.service.server",
                f"Failed to initialize database `{DB}`.",
            ),
            "Traceback (most recent call last):",
            "odoo.tools.convert.ParseError: while parsing views/x.xml:3",
        ]
    )
    report = odoo_log.analyse(text)
    problems = report.problems()
    assert not report.result_seen
    assert problems[0].startswith("no test result line")
    assert "1 ERROR/CRITICAL log record(s)" in problems
    assert "ParseError" in report.bad_records[0].text


def test_zero_tests_is_a_problem_unless_allowed():
    report = odoo_log.analyse(result_line(tests=0, level="WARNING"))
    assert report.result_seen
    assert any("ran no test" in p for p in report.problems())
    assert report.problems(require_tests=False) == []


def test_ansi_colours_and_perf_suffix_are_tolerated():
    coloured = (
        f"{TS} \x1b[1;31m\x1b[1;49mERROR\x1b[0m {DB} odoo.sql_db: bad query "
        "12 0.004 0.010"
    )
    report = odoo_log.analyse(coloured)
    [rec] = report.bad_records
    assert rec.logger == "odoo.sql_db"
    assert rec.message.startswith("bad query")


def test_word_error_inside_an_info_message_is_not_an_error():
    report = odoo_log.analyse(
        CLEAN_RUN
        + "\n"
        + line(
            "INFO",
            "odoo.addons.g2p_programs.models.payment",
            "payment 4 marked ERROR by the gateway (expected in this test)",
        )
    )
    assert report.problems() == []


def test_summary_line_format():
    report = odoo_log.analyse(result_line(failed=2, errors=1, tests=40))
    assert odoo_log.summary_line(report, 123.4) == (
        "Odoo tier: 40 tests, 2 failed, 1 errors, 123 s"
    )
