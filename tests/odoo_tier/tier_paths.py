"""What the Odoo tier installs and where from: modules, bases, addons path.

Plain stdlib, no Odoo import: the demo and the benchmarks use the same
addons path and server-wide modules as the test runner (through ``run``).
"""

import os
from pathlib import Path

import standin_addons

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Test doubles (gateway simulators) the addon tests import: never shipped in
# an addon, so Odoo's test process and the e2e run get them on PYTHONPATH.
SUPPORT = REPO / "tests" / "support"

DEFAULT_MODULES = (
    "g2p_registry_base",
    "g2p_programs",
    "g2p_program_documents",
    "g2p_payment_files",
    "g2p_payment_simple_mpesa",
    "g2p_payment_files_redemption",
)
ADDONS = (
    "g2p_payment_files",
    "g2p_payment_simple_mpesa",
    "g2p_payment_files_redemption",
)
BASES = ("standin", "openg2p")
# Both bases run large prepare/send runs as queue_job jobs: servers load
# queue_job server-wide (its job runner).
SERVER_WIDE = {"standin": "base,web,queue_job", "openg2p": "base,web,queue_job"}


def say(text):
    print(f"Odoo tier: {text}", flush=True)


def default_addons_path(odoo_src, base="standin", openg2p_addons=()):
    """Odoo's addons, then the base (stand-in or the real OpenG2P dirs), then ours.

    The stand-in's OCA dependencies (queue_job from PyPI) come from a directory
    of their own, installed on first use; the real base brings its own copy.
    Raises ``standin_addons.StandinAddonsError`` when they cannot be installed.
    """
    parts = []
    if odoo_src and (Path(odoo_src) / "addons").is_dir():
        parts.append(str(Path(odoo_src) / "addons"))
    if base == "openg2p":
        parts += [str(Path(p).resolve()) for p in openg2p_addons]
    else:
        parts.append(standin_addons.ensure(log=say))
        parts.append(str(REPO / "openg2p_base_standin"))
    parts.append(str(REPO))
    return parts


def default_test_tags(base, modules):
    """Every module's tests on the stand-in; only the addons' on the real base
    (the real base's own suites are OpenG2P's business, and need its demo data)."""
    wanted = modules if base == "standin" else [m for m in modules if m in ADDONS]
    return ",".join(f"/{m}" for m in wanted)


def env_with_support(base=None):
    """``base`` (default: this process's environment) with tests/support first
    on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    parts = [str(SUPPORT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    return env
