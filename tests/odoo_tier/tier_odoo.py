"""Finding Odoo 17: a source tree (ODOO_SRC), or an interpreter that imports it.

``Skip`` means no Odoo at all (the tier is skipped); ``BadOdooSrc`` means
ODOO_SRC was given but is unusable, a configuration error.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

SKIP_RC = 3
SKIP_HINT = "set ODOO_SRC=/path/to/odoo-17 source tree"


class Skip(Exception):
    pass


class BadOdooSrc(Exception):
    """ODOO_SRC was given but is unusable: a configuration error, not a skip."""


def _release_major(src):
    """Major version from odoo/release.py without importing Odoo."""
    text = (Path(src) / "odoo" / "release.py").read_text(encoding="utf-8")
    m = re.search(r"^version_info\s*=\s*\(\s*(?:'saas~)?(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def find_odoo(odoo_src=None, python=None):
    """Return (odoo_cmd list, odoo_src or None).  Raise Skip when absent."""
    python = python or sys.executable
    if odoo_src:
        src = Path(odoo_src).resolve()
        if not (src / "odoo-bin").is_file() or not (src / "odoo/release.py").is_file():
            raise BadOdooSrc(
                f"ODOO_SRC={odoo_src} is not an Odoo source tree (no odoo-bin)"
            )
        major = _release_major(src)
        if major != 17:
            raise BadOdooSrc(f"ODOO_SRC={odoo_src} is Odoo {major}, not 17")
        return [python, str(src / "odoo-bin")], src
    probe = (
        "import json, os, odoo.release as r; "
        "print(json.dumps([r.version_info[0], "
        "os.path.dirname(os.path.dirname(os.path.abspath(r.__file__)))]))"
    )
    try:
        out = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        out = None
    if not out or out.returncode != 0:
        raise Skip("no Odoo 17 found")
    major, parent = json.loads(out.stdout.strip().splitlines()[-1])
    if major != 17:
        raise Skip(f"importable odoo is version {major}, not 17")
    parent = Path(parent)
    if (parent / "odoo-bin").is_file():
        return [python, str(parent / "odoo-bin")], parent
    # An installed (non-source) Odoo: its addons live inside the package.
    return [python, "-m", "odoo"], None
