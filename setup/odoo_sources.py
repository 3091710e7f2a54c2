#!/usr/bin/env python3
"""Find the Odoo 17 tree and the OpenG2P base addons the tests and demo run on.

Standard library only: it runs before the virtualenv exists.

    python3 setup/odoo_sources.py odoo [SPEC] -> the Odoo 17 tree
    python3 setup/odoo_sources.py openg2p SPEC -> the addons dirs, comma-separated

SPEC is a directory, a ``.tar.xz`` / ``.tar.gz`` / ``.tgz`` / ``.zip`` archive,
or an ``http(s)://`` URL of such an archive.  Archives are unpacked once into
the cache directory (``G2P_SOURCES``, default ``.work/sources``) and reused;
URLs are downloaded there first, with progress on stderr.  Without a SPEC the
``odoo`` command downloads Odoo 17 community (``ODOO_DEFAULT_URL``).

Exit status 0 with the path on stdout; 3 when there is nothing to use (one
line on stderr saying what to set); 2 when SPEC is unusable (wrong version,
not Odoo, unreadable archive).
"""

import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ODOO_DEFAULT_URL = "https://github.com/odoo/odoo/archive/refs/heads/17.0.tar.gz"
ARCHIVE_SUFFIXES = (".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.bz2", ".tar", ".zip")
SEARCH_DEPTH = 3
NETWORK_TIMEOUT = 30
SKIP_RC, BAD_RC = 3, 2
HINT_ODOO = "set ODOO_SRC to an Odoo 17 source tree, archive or URL"


class SourceError(Exception):
    """SPEC exists but cannot be used; the message says why and what to do."""


class NotAvailable(Exception):
    """Nothing to use (offline, nothing given)."""


def cache_dir():
    return Path(os.environ.get("G2P_SOURCES") or REPO / ".work" / "sources").resolve()


def is_url(spec):
    return bool(re.match(r"^https?://", str(spec)))


def is_archive(path):
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _progress(done, total, last):
    """Print every 10%; returns the last printed step."""
    if not total:
        step = done // (20 << 20)  # every 20 MB when the size is unknown
        if step != last:
            print(f"  downloaded {done >> 20} MB", file=sys.stderr, flush=True)
        return step
    step = done * 10 // total
    if step != last:
        print(f"  {step * 10:3d}% of {total >> 20} MB", file=sys.stderr, flush=True)
    return step


def download(url, dest_dir):
    """Download url once into dest_dir; returns the local file."""
    name = url.rstrip("/").rsplit("/", 1)[-1] or "download"
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    dest = Path(dest_dir) / f"{key}-{name}"
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with (
            urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT) as resp,
            open(part, "wb") as out,
        ):
            total = int(resp.headers.get("Content-Length") or 0)
            # Said only once connected: offline, the caller's one line is all.
            print(f"fetching {url}", file=sys.stderr, flush=True)
            done, last = 0, -1
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
                done += len(block)
                last = _progress(done, total, last)
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise NotAvailable(f"could not download {url} ({reason})") from exc
    part.rename(dest)
    return dest


def _extract(archive, target):
    if str(archive).lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                resolved = (target / member).resolve()
                if (
                    target.resolve() not in resolved.parents
                    and resolved != target.resolve()
                ):
                    raise SourceError(f"{archive}: unsafe path in archive: {member}")
            zf.extractall(target)
        return
    with tarfile.open(archive) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(target, filter="data")
        else:  # Python < 3.11.4: refuse absolute and parent paths ourselves
            for member in tf.getmembers():
                if member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise SourceError(
                        f"{archive}: unsafe path in archive: {member.name}"
                    )
            tf.extractall(target)  # noqa: S202 (members checked above)


def unpack(archive, dest_root):
    """Unpack archive once under dest_root (keyed by content); returns the dir."""
    archive = Path(archive).resolve()
    if not archive.is_file():
        raise SourceError(f"{archive} does not exist")
    stem = re.sub(r"(\.tar)?\.[a-z0-9]+$", "", archive.name.lower())
    target = Path(dest_root) / f"{stem}-{_file_digest(archive)}"
    if (target / ".unpacked").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"unpacking {archive} into {target}", file=sys.stderr, flush=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        _extract(archive, tmp)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SourceError(f"{archive} is not a readable archive ({exc})") from exc
    except SourceError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (tmp / ".unpacked").write_text(str(archive) + "\n")
    if target.exists():  # a half-unpacked leftover of an interrupted run
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def materialise(spec):
    """A directory for spec (dir, archive or URL)."""
    if is_url(spec):
        spec = download(spec, cache_dir() / "downloads")
    path = Path(spec).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.is_file() and is_archive(path):
        return unpack(path, cache_dir())
    if path.exists():
        raise SourceError(
            f"{spec} is neither a directory nor a {'/'.join(ARCHIVE_SUFFIXES)} archive"
        )
    raise SourceError(f"{spec} does not exist")


def _walk_dirs(root, depth):
    """root and its sub-directories down to depth, skipping hidden ones."""
    yield root
    if depth == 0:
        return
    try:
        children = sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
    except OSError:
        return
    for child in children:
        yield from _walk_dirs(child, depth - 1)


def odoo_major(tree):
    text = (Path(tree) / "odoo" / "release.py").read_text(encoding="utf-8")
    m = re.search(r"^version_info\s*=\s*\(\s*(?:'saas~)?(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def find_odoo_tree(root):
    for path in _walk_dirs(Path(root), SEARCH_DEPTH):
        if (path / "odoo-bin").is_file() and (path / "odoo" / "release.py").is_file():
            return path
    return None


def resolve_odoo(spec=None):
    """The Odoo 17 source tree for spec (or the default download)."""
    origin = spec or ODOO_DEFAULT_URL
    try:
        root = materialise(origin)
    except NotAvailable as exc:
        if spec:
            raise
        raise NotAvailable(f"no Odoo 17 found and {exc}") from exc
    tree = find_odoo_tree(root)
    if tree is None:
        raise SourceError(
            f"{origin} holds no Odoo source tree (no odoo-bin with odoo/release.py)"
        )
    major = odoo_major(tree)
    if major != 17:
        raise SourceError(f"{origin} is Odoo {major}, not 17")
    return tree


def find_addons_dirs(root):
    """Directories that directly hold Odoo modules (folders with __manifest__.py)."""
    found = []
    for path in _walk_dirs(Path(root), SEARCH_DEPTH):
        if (path / "__manifest__.py").is_file():
            parent = path.parent
            if parent not in found:
                found.append(parent)
    # A module's own sub-folders are never addons dirs of their own.
    return [d for d in found if not (d / "__manifest__.py").is_file()]


def resolve_openg2p(
    spec, required=("g2p_programs", "g2p_registry_base", "g2p_program_documents")
):
    root = materialise(spec)
    dirs = find_addons_dirs(root)
    present = {
        p.name for d in dirs for p in d.iterdir() if (p / "__manifest__.py").is_file()
    }
    missing = [m for m in required if m not in present]
    if missing:
        raise SourceError(
            f"OPENG2P_SRC={spec} lacks the OpenG2P base modules {', '.join(missing)}"
        )
    return dirs


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("odoo", "openg2p"):
        print(__doc__, file=sys.stderr)
        return BAD_RC
    kind, spec = argv[0], (argv[1] if len(argv) > 1 and argv[1] else None)
    try:
        if kind == "odoo":
            print(resolve_odoo(spec))
        else:
            if not spec:
                print("no OpenG2P base given (set OPENG2P_SRC)", file=sys.stderr)
                return SKIP_RC
            print(",".join(str(d) for d in resolve_openg2p(spec)))
    except NotAvailable as exc:
        print(f"{exc} ({HINT_ODOO})", file=sys.stderr)
        return SKIP_RC
    except SourceError as exc:
        print(str(exc), file=sys.stderr)
        return BAD_RC
    return 0


if __name__ == "__main__":
    sys.exit(main())
