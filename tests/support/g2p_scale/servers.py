"""Command-line pieces of a production-shaped Odoo: workers, limits, job runner."""

import json
import os
import subprocess
from pathlib import Path

MIB = 1024 * 1024
# Odoo 17's own defaults, which production configurations usually keep.
LIMITS = {
    "time_real": 120,
    "time_cpu": 60,
    "memory_soft_mib": 2048,
    "memory_hard_mib": 2560,
}
QUEUE_JOB = "queue_job"


def workers_args(
    workers=2,
    cron_workers=0,
    time_real=None,
    time_cpu=None,
    memory_soft_mib=None,
    memory_hard_mib=None,
):
    """Prefork server options (``None`` keeps Odoo's default limit)."""
    limits = dict(LIMITS)
    for key, value in (
        ("time_real", time_real),
        ("time_cpu", time_cpu),
        ("memory_soft_mib", memory_soft_mib),
        ("memory_hard_mib", memory_hard_mib),
    ):
        if value is not None:
            limits[key] = value
    return [
        f"--workers={workers}",
        f"--max-cron-threads={cron_workers}",
        f"--limit-time-real={limits['time_real']}",
        f"--limit-time-cpu={limits['time_cpu']}",
        f"--limit-memory-soft={limits['memory_soft_mib'] * MIB}",
        f"--limit-memory-hard={limits['memory_hard_mib'] * MIB}",
    ]


def with_queue_job(server_wide):
    """The --load list with queue_job (its job runner) added once."""
    modules = [m for m in (server_wide or "base,web").split(",") if m]
    if QUEUE_JOB not in modules:
        modules.append(QUEUE_JOB)
    return ",".join(modules)


def queue_job_env(capacity):
    """Environment giving the job runner ``capacity`` parallel jobs (both the
    OpenG2P 17.0.1.0.x and the PyPI 17.0.1.5.x queue_job read it)."""
    return {"ODOO_QUEUE_JOB_CHANNELS": f"root:{capacity}"}


_GEVENT_PROBE = "import pkg_resources; pkg_resources.require('gevent')"
_VERSIONS_PROBE = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({n: m.version(n) for n in ('zope.interface', 'zope.event')}))"
)


def gevent_metadata_shim(python, folder):
    """A PYTHONPATH folder that lets this venv's gevent start, or None.

    In workers mode Odoo's master process spawns ``odoo-bin gevent`` (the
    websocket/longpolling server) and spawns it again whenever it exits.
    gevent loads its plugins through pkg_resources, and the setuptools < 70
    Odoo 17 needs cannot find zope.interface >= 7.1 / zope.event >= 5.1,
    whose metadata folders use the new normalised names (zope_interface-...):
    the gevent process then dies at once, about once a second, which costs a
    benchmark a good part of a core. The lasting fix is pinning
    ``zope.interface<7.1`` and ``zope.event<5.1`` in the environment; until
    then this writes the two metadata folders under their dotted names (the
    code stays the installed one).
    """

    def works(env=None):
        done = subprocess.run(
            [python, "-c", _GEVENT_PROBE], capture_output=True, env=env, check=False
        )
        return done.returncode == 0

    if works():
        return None
    found = subprocess.run(
        [python, "-c", _VERSIONS_PROBE], capture_output=True, text=True, check=False
    )
    if found.returncode:
        return None
    for name, version in json.loads(found.stdout).items():
        meta = Path(folder) / f"{name}-{version}.dist-info"
        meta.mkdir(parents=True, exist_ok=True)
        (meta / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            encoding="utf-8",
        )
    env = dict(os.environ, PYTHONPATH=str(folder))
    return str(folder) if works(env) else None


def prepend_pythonpath(env, folder):
    """``env`` (a dict) with ``folder`` first on its PYTHONPATH."""
    if folder:
        rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([folder, *rest])
    return env
