"""setup/odoo_sources.py: Odoo and the OpenG2P base from a tree, an archive or a URL."""

import http.server
import importlib.util
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[2] / "setup"
_spec = importlib.util.spec_from_file_location(
    "_g2p_sources", SETUP / "odoo_sources.py"
)
sources = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sources)

RELEASE = "version_info = ({major}, 0, 0, FINAL, 0, '')\n"


def make_odoo_tree(root, major=17):
    (root / "odoo").mkdir(parents=True)
    (root / "odoo" / "release.py").write_text(RELEASE.format(major=major))
    (root / "odoo-bin").write_text("#!/usr/bin/env python3\n")
    (root / "addons" / "web").mkdir(parents=True)
    return root


def make_tar(path, src_dir, arcname):
    with tarfile.open(path, "w:xz" if path.name.endswith(".xz") else "w:gz") as tf:
        tf.add(src_dir, arcname=arcname)
    return path


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("G2P_SOURCES", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_source_tree_is_used_in_place(tmp_path):
    tree = make_odoo_tree(tmp_path / "odoo-17")

    assert sources.resolve_odoo(str(tree)) == tree.resolve()


def test_an_archive_is_unpacked_once_and_reused(tmp_path, cache):
    tree = make_odoo_tree(tmp_path / "src" / "odoo-17")
    archive = make_tar(tmp_path / "odoo-17.0.tar.xz", tree, "odoo-17")

    first = sources.resolve_odoo(str(archive))
    marker = first / "addons" / "web" / "touched"
    marker.write_text("x")
    second = sources.resolve_odoo(str(archive))

    assert first == second
    assert cache in first.parents
    assert marker.is_file()  # not unpacked again


def test_a_zip_archive_works_too(tmp_path):
    path = tmp_path / "odoo.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("odoo-17.0/odoo/release.py", RELEASE.format(major=17))
        zf.writestr("odoo-17.0/odoo-bin", "")

    assert sources.resolve_odoo(str(path)).name == "odoo-17.0"


def test_another_odoo_version_is_refused_with_its_number(tmp_path):
    tree = make_odoo_tree(tmp_path / "odoo-16", major=16)

    with pytest.raises(sources.SourceError, match="Odoo 16, not 17"):
        sources.resolve_odoo(str(tree))


def test_a_broken_archive_says_so(tmp_path):
    bad = tmp_path / "odoo.tar.gz"
    bad.write_bytes(b"not an archive")

    with pytest.raises(sources.SourceError, match="not a readable archive"):
        sources.resolve_odoo(str(bad))


def test_an_archive_escaping_its_folder_is_refused(tmp_path):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        data = b"x"
        info = tarfile.TarInfo("../outside.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))

    with pytest.raises(sources.SourceError):
        sources.resolve_odoo(str(path))
    assert not (tmp_path / "outside.txt").exists()


def test_a_url_is_downloaded_once_then_unpacked(tmp_path):
    tree = make_odoo_tree(tmp_path / "src" / "odoo-17")
    served = tmp_path / "served"
    served.mkdir()
    make_tar(served / "odoo-17.0.tar.gz", tree, "odoo-17")
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *_args):
            hits.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/odoo-17.0.tar.gz"
        first = sources.resolve_odoo(url)
        second = sources.resolve_odoo(url)
    finally:
        server.shutdown()
    assert first == second and (first / "odoo-bin").is_file()
    assert len(hits) == 1


def test_no_network_gives_one_line_naming_odoo_src(tmp_path, monkeypatch, capsys):
    # A port nobody listens on stands for "offline".
    monkeypatch.setattr(sources, "ODOO_DEFAULT_URL", "http://127.0.0.1:9/odoo.tar.gz")

    rc = sources.main(["odoo"])

    err = capsys.readouterr().err.strip().splitlines()
    assert rc == sources.SKIP_RC
    assert len(err) == 1
    assert "no Odoo 17 found" in err[0] and "ODOO_SRC" in err[0]


def test_openg2p_archive_gives_every_addons_folder(tmp_path):
    root = tmp_path / "src" / "openg2p-17.0"
    for repo, module in (
        ("openg2p-program", "g2p_programs"),
        ("openg2p-program", "g2p_program_documents"),
        ("openg2p-registry", "g2p_registry_base"),
        ("community-addons", "queue_job"),
    ):
        (root / repo / module / "tests").mkdir(parents=True)
        (root / repo / module / "__manifest__.py").write_text("{}")
    archive = make_tar(tmp_path / "openg2p.tar.xz", root, "openg2p-17.0")

    dirs = sources.resolve_openg2p(str(archive))

    assert sorted(d.name for d in dirs) == [
        "community-addons",
        "openg2p-program",
        "openg2p-registry",
    ]


def test_openg2p_without_the_base_modules_is_refused(tmp_path):
    (tmp_path / "addons" / "queue_job").mkdir(parents=True)
    (tmp_path / "addons" / "queue_job" / "__manifest__.py").write_text("{}")

    with pytest.raises(sources.SourceError, match="g2p_programs"):
        sources.resolve_openg2p(str(tmp_path / "addons"))
