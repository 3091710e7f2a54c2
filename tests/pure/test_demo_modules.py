"""The demo data's modules stay runnable where docker-compose runs them.

``setup/demo_data.py`` is run in python:3.11-slim (no Odoo, no project
requirements); the records it loads live in ``setup/demo_records.py`` and the
voucher template in ``setup/demo_voucher.html``.
"""

import sys
from pathlib import Path

SETUP = Path(__file__).resolve().parents[2] / "setup"
sys.path.insert(0, str(SETUP))

import demo_data  # noqa: E402

SIBLINGS = {"demo_data", "demo_records", "demo_daraja"}


def _imports(name):
    """Module-level imports: what loading it needs.  demo_daraja's simulator
    imports the test support (and cryptography) inside the function that
    runs it, in the container that installs cryptography."""
    text = (SETUP / f"{name}.py").read_text(encoding="utf-8")
    return [
        line.split()[1].split(".")[0]
        for line in text.splitlines()
        if line.startswith(("import ", "from "))
    ]


def test_demo_data_modules_import_only_the_stdlib_and_each_other():
    for name in SIBLINGS:
        imports = _imports(name)
        assert imports, name
        foreign = [i for i in imports if i not in sys.stdlib_module_names | SIBLINGS]
        assert not foreign, (name, foreign)


def test_voucher_template_is_read_whole_from_its_html_file():
    template = demo_data.VOUCHER_TEMPLATE
    assert template.startswith("<!DOCTYPE html>")
    assert template.endswith("</div></body></html>")
    assert "qrcodes.get_by_name('voucher_qr')" in template
