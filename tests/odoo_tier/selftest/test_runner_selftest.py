"""The Odoo-tier runner's verdict is real: a deliberately failing Odoo test
makes it exit non-zero and name the test; a passing one exits 0.

Runs only where run.py found Odoo (it sets the G2P_E2E_* variables).  Each
case installs one tiny addon into a copy of the template database, so the
cost is a registry load, not a full install.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parent.parent / "run.py"
NEEDED = (
    "G2P_E2E_ODOO_CMD",
    "G2P_E2E_ADDONS_PATH",
    "G2P_E2E_DB_HOST",
    "G2P_E2E_DB_PORT",
    "G2P_E2E_DB_USER",
    "G2P_E2E_TEMPLATE_DB",
)

pytestmark = pytest.mark.skipif(
    any(not os.environ.get(v) for v in NEEDED),
    reason="runner self-test needs a real Odoo: run it through tests/odoo_tier/run.py",
)

MANIFEST = """{
    "name": "%(name)s",
    "version": "17.0.1.0.0",
    "depends": ["base"],
    "license": "LGPL-3",
    "installable": True,
}
"""

TEST_FILE = """from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestSelftest(TransactionCase):
    def test_company_exists(self):
        self.assertTrue(self.env.ref("base.main_company").exists())
%(extra)s
"""

FAILING = """
    def test_deliberately_fails(self):
        self.assertEqual(self.env.ref("base.main_company").name, "not the name")
"""


def _make_addon(root, name, extra=""):
    mod = root / name
    (mod / "tests").mkdir(parents=True)
    (mod / "__init__.py").write_text("")
    (mod / "__manifest__.py").write_text(MANIFEST % {"name": name})
    (mod / "tests" / "__init__.py").write_text("from . import test_selftest\n")
    (mod / "tests" / "test_selftest.py").write_text(TEST_FILE % {"extra": extra})


def _runner(tmp_path, module):
    env = dict(
        os.environ,
        PGHOST=os.environ["G2P_E2E_DB_HOST"],
        PGPORT=os.environ["G2P_E2E_DB_PORT"],
        PGUSER=os.environ["G2P_E2E_DB_USER"],
    )
    cmd = [
        sys.executable,
        str(RUN_PY),
        "--modules",
        module,
        "--odoo-cmd",
        os.environ["G2P_E2E_ODOO_CMD"],
        "--addons-path",
        os.environ["G2P_E2E_ADDONS_PATH"],
        "--extra-addons-path",
        str(tmp_path / "addons"),
        "--template-db",
        os.environ["G2P_E2E_TEMPLATE_DB"],
        "--work-dir",
        str(tmp_path / f"work-{module}"),
        "--no-e2e",
    ]
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_runner_exit_code_follows_odoo_test_outcome(tmp_path):
    _make_addon(tmp_path / "addons", "g2p_selftest_ok")
    _make_addon(tmp_path / "addons", "g2p_selftest_broken", extra=FAILING)
    # Both runs at once: each is mostly a registry load.
    ok = _runner(tmp_path, "g2p_selftest_ok")
    broken = _runner(tmp_path, "g2p_selftest_broken")
    ok_out, _ = ok.communicate(timeout=900)
    broken_out, _ = broken.communicate(timeout=900)

    assert broken.returncode == 1, broken_out
    failing = "FAIL g2p_selftest_broken: TestSelftest.test_deliberately_fails"
    assert failing in broken_out
    assert "Odoo tier: 2 tests, 1 failed, 0 errors" in broken_out

    assert ok.returncode == 0, ok_out
    assert "Odoo tier: 1 tests, 0 failed, 0 errors" in ok_out
