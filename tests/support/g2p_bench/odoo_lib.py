"""Odoo for a benchmark: a fresh database, and Odoo used as a library."""

import subprocess
import sys
import time
from pathlib import Path


def install_module(odoo_src, odoo_args, db, module, tail=4000, cwd=None):
    """Create ``db`` with ``module`` installed (``odoo-bin -i``); seconds taken.

    On failure the end of Odoo's output goes to stderr and the run stops.
    """
    cmd = [
        sys.executable,
        str(Path(odoo_src) / "odoo-bin"),
        *odoo_args,
        "-d",
        db,
        "-i",
        module,
        "--stop-after-init",
        "--without-demo=all",
        "--log-level=warn",
        "--no-http",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-tail:] + proc.stderr[-tail:])
        raise SystemExit(f"installing {module} into {db} failed")
    return time.perf_counter() - start


def load_registry(odoo_src, odoo_args, db):
    """Import Odoo from ``odoo_src``, parse its config; ``(odoo, registry)``."""
    if odoo_src not in sys.path:
        sys.path.insert(0, odoo_src)
    import odoo  # noqa: PLC0415 - Odoo is located at run time
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config([*odoo_args, "-d", db, "--log-level=warn"])
    return odoo, odoo.modules.registry.Registry(db)
