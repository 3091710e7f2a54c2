#!/usr/bin/env python3
"""The OCA addons the stand-in base depends on (queue_job), from PyPI.

The real OpenG2P base brings its own queue_job, and both Odoo tiers share one
virtualenv, so the PyPI wheels must stay out of the venv's ``odoo/addons``
namespace (Odoo searches it before ``--addons-path``, on either base).  They
are installed with ``--no-deps`` into a directory of their own, keyed by the
pins in ``requirements-standin.txt`` and reused, which only the stand-in tier
and demo put on the addons path.  ``G2P_STANDIN_ADDONS`` names a ready
directory instead (offline, or a checkout of OCA/queue).

    python tests/odoo_tier/standin_addons.py   -> prints the addons directory

Standard library only.  Exit status 2 (one line saying what to do) when the
addons cannot be installed.
"""

import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements-standin.txt"
MODULES = ("queue_job",)
ENV_DIR = "G2P_STANDIN_ADDONS"
PIP_TIMEOUT = 600


class StandinAddonsError(Exception):
    """The addons are not there and cannot be installed; says what to do."""


def pins(path=REQUIREMENTS):
    """The requirement lines of ``path``, comments and blanks left out."""
    lines = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def cache_root():
    """Where downloads are kept (as setup/odoo_sources.py: ``G2P_SOURCES``)."""
    return Path(os.environ.get("G2P_SOURCES") or REPO / ".work" / "sources").resolve()


def target_dir(requirements=REQUIREMENTS, root=None):
    """The install directory for these pins; its ``odoo/addons`` is an addons dir."""
    key = hashlib.sha256("\n".join(pins(requirements)).encode()).hexdigest()[:12]
    return (Path(root) if root else cache_root()) / f"standin-addons-{key}"


def manifest_version(addons_dir, module):
    """The ``version`` of ``addons_dir/module/__manifest__.py``, or None."""
    manifest = Path(addons_dir) / module / "__manifest__.py"
    try:
        return ast.literal_eval(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, SyntaxError, AttributeError):
        return None


def find_module(addons_path, module):
    """``(directory, version)`` of the first copy of ``module`` on the path."""
    for directory in addons_path:
        version = manifest_version(directory, module)
        if version:
            return str(directory), version
    return None, None


def _missing(addons_dir):
    return [m for m in MODULES if not manifest_version(addons_dir, m)]


def _pip_install(python, requirements, dest):
    cmd = [
        python, "-m", "pip", "install", "--no-deps", "--no-compile",
        "--disable-pip-version-check", "--no-warn-script-location", "-q",
        "--target", str(dest), "-r", str(requirements),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return lines[-1] if lines else f"pip exited with {done.returncode}"
    return None


def ensure(python=None, requirements=REQUIREMENTS, root=None, log=None):
    """The addons directory holding ``MODULES``, installed first if needed."""
    given = os.environ.get(ENV_DIR)
    if given:
        missing = _missing(given)
        if missing:
            raise StandinAddonsError(
                f"{ENV_DIR}={given} has no {', '.join(missing)} addon: point it "
                "at a directory holding queue_job 17.0 (e.g. the odoo/addons of "
                f"a pip --target install of {REQUIREMENTS.name}), or unset it"
            )
        return str(Path(given).resolve())
    final = target_dir(requirements, root)
    addons = final / "odoo" / "addons"
    if not _missing(addons):
        return str(addons)
    final.parent.mkdir(parents=True, exist_ok=True)
    if log:
        log(f"installing {', '.join(pins(requirements))} into {final}")
    # Into a fresh directory, renamed at the end: a concurrent or interrupted
    # run never leaves a half-installed addon that looks complete.
    tmp = Path(tempfile.mkdtemp(prefix=".standin-addons-", dir=final.parent))
    try:
        error = _pip_install(python or sys.executable, requirements, tmp)
        missing = _missing(tmp / "odoo" / "addons")
        if error is None and missing:
            error = f"the wheels hold no {', '.join(missing)}"
        if error:
            raise StandinAddonsError(
                f"could not install {', '.join(pins(requirements))} for the "
                f"stand-in base ({error}): check the network and retry, or set "
                f"{ENV_DIR} to a directory holding queue_job 17.0"
            )
        try:
            tmp.rename(final)
        except OSError:
            if _missing(addons):  # not another run's complete install: retry
                shutil.rmtree(final, ignore_errors=True)
                tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(addons)


def main():
    try:
        print(ensure(log=lambda text: print(text, file=sys.stderr, flush=True)))
    except StandinAddonsError as exc:
        print(f"standin_addons: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
