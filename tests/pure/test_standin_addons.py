"""tests/odoo_tier/standin_addons.py: the stand-in's queue_job from PyPI, in a
directory of its own (never the venv's odoo/addons), installed once and reused."""

import importlib.util
from pathlib import Path

import pytest

TIER = Path(__file__).resolve().parent.parent / "odoo_tier"
_spec = importlib.util.spec_from_file_location(
    "_g2p_standin_addons", TIER / "standin_addons.py"
)
standin_addons = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standin_addons)

MANIFEST = '{"name": "Job Queue", "version": "%s", "depends": ["mail"]}\n'


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("G2P_SOURCES", str(tmp_path / "cache"))
    monkeypatch.delenv(standin_addons.ENV_DIR, raising=False)
    return tmp_path / "cache"


def write_requirements(tmp_path, text):
    path = tmp_path / "requirements-standin.txt"
    path.write_text(text)
    return path


def add_module(addons_dir, name="queue_job", version="17.0.1.5.4"):
    (addons_dir / name).mkdir(parents=True)
    (addons_dir / name / "__manifest__.py").write_text(MANIFEST % version)


def fake_pip(calls, version="17.0.1.5.4", modules=("queue_job",)):
    def install(python, requirements, dest):
        calls.append((python, Path(requirements), Path(dest)))
        for name in modules:
            add_module(Path(dest) / "odoo" / "addons", name, version)
        return None

    return install


def test_the_repository_pins_one_queue_job_of_the_17_0_series():
    [pin] = standin_addons.pins()
    assert pin.startswith("odoo-addon-queue_job==17.0.")


def test_directory_is_keyed_by_the_pins_not_by_comments(tmp_path, cache):
    one = write_requirements(tmp_path, "# pins\nodoo-addon-queue_job==17.0.1.5.4\n")
    first = standin_addons.target_dir(one)
    one.write_text("odoo-addon-queue_job==17.0.1.5.4  # another comment\n")
    assert standin_addons.target_dir(one) == first
    one.write_text("odoo-addon-queue_job==17.0.1.5.5\n")
    assert standin_addons.target_dir(one) != first
    assert first.parent == cache.resolve()


def test_installs_once_then_reuses_the_directory(tmp_path, monkeypatch):
    reqs = write_requirements(tmp_path, "odoo-addon-queue_job==17.0.1.5.4\n")
    calls = []
    monkeypatch.setattr(standin_addons, "_pip_install", fake_pip(calls))

    addons = standin_addons.ensure(python="py", requirements=reqs)
    again = standin_addons.ensure(python="py", requirements=reqs)

    assert again == addons
    assert len(calls) == 1
    assert calls[0][0] == "py" and calls[0][1] == reqs
    assert Path(addons) == standin_addons.target_dir(reqs) / "odoo" / "addons"
    assert standin_addons.manifest_version(addons, "queue_job") == "17.0.1.5.4"
    # Nothing half-made is left next to it.
    assert [p.name for p in Path(addons).parents[1].parent.iterdir()] == [
        standin_addons.target_dir(reqs).name
    ]


def test_failed_install_says_what_to_do_and_leaves_nothing(tmp_path, monkeypatch):
    reqs = write_requirements(tmp_path, "odoo-addon-queue_job==17.0.1.5.4\n")
    monkeypatch.setattr(
        standin_addons, "_pip_install", lambda *a: "No matching distribution found"
    )

    with pytest.raises(standin_addons.StandinAddonsError) as caught:
        standin_addons.ensure(requirements=reqs)

    message = str(caught.value)
    assert "odoo-addon-queue_job==17.0.1.5.4" in message
    assert "No matching distribution" in message
    assert standin_addons.ENV_DIR in message
    assert not standin_addons.target_dir(reqs).exists()
    assert list(standin_addons.target_dir(reqs).parent.iterdir()) == []


def test_wheel_without_queue_job_is_refused(tmp_path, monkeypatch):
    reqs = write_requirements(tmp_path, "odoo-addon-something-else==17.0.1.0.0\n")
    monkeypatch.setattr(
        standin_addons, "_pip_install", fake_pip([], modules=("something_else",))
    )

    with pytest.raises(standin_addons.StandinAddonsError, match="no queue_job"):
        standin_addons.ensure(requirements=reqs)


def test_given_directory_is_used_as_is_or_refused_when_empty(tmp_path, monkeypatch):
    ready = tmp_path / "ready"
    add_module(ready)
    monkeypatch.setenv(standin_addons.ENV_DIR, str(ready))
    monkeypatch.setattr(standin_addons, "_pip_install", pytest.fail)
    assert standin_addons.ensure() == str(ready.resolve())

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(standin_addons.ENV_DIR, str(empty))
    with pytest.raises(standin_addons.StandinAddonsError, match="has no queue_job"):
        standin_addons.ensure()


def test_find_module_takes_the_first_copy_on_the_path(tmp_path):
    vendored, pypi = tmp_path / "vendored", tmp_path / "pypi"
    add_module(vendored, version="17.0.1.0.2")
    add_module(pypi, version="17.0.1.5.4")
    nothing = tmp_path / "nothing"

    assert standin_addons.find_module([nothing, vendored, pypi], "queue_job") == (
        str(vendored),
        "17.0.1.0.2",
    )
    assert standin_addons.find_module([nothing], "queue_job") == (None, None)
