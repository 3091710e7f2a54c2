#!/usr/bin/env bash
# Environment helpers shared by setup/test.sh and setup/demo.sh (sourced, not run):
# Debian packages, the project virtualenv, finding Odoo 17 and installing its
# requirements plus the OCA fastapi addons into that virtualenv.
# Reads: ODOO_SRC, G2P_VENV, PYTHON, G2P_WORK, G2P_SKIP_APT, G2P_SKIP_ODOO.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
WORK=${G2P_WORK:-$REPO/.work}
mkdir -p "$WORK"
PY=${PYTHON:-python3}
VENV=${G2P_VENV:-$REPO/.venv}
VPY="$VENV/bin/python"
MODULES=(g2p_payment_files g2p_payment_simple_mpesa g2p_payment_files_redemption
         openg2p_base_standin/g2p_registry_base openg2p_base_standin/g2p_programs
         openg2p_base_standin/g2p_program_documents)


say() { printf '\n== %s\n' "$*"; }
die() { echo "${G2P_SCRIPT:-setup}: $*" >&2; exit 2; }

sha_of() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# Run a quiet step; show its output only when it fails.
quietly() {
    local log="$1"; shift
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "(full output: $log)"
        return 1
    fi
}

# ---------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------
deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

system_packages() {
    [ "${G2P_SKIP_APT:-}" = 1 ] && return 0
    command -v dpkg-query >/dev/null || return 0   # not Debian: nothing to do
    local missing=() pkg
    local wanted=(postgresql-15 wkhtmltopdf zbar-tools libzbar0 poppler-utils)
    # The e2e demo test drives a headless browser; only worth it with Odoo.
    if [ -n "${ODOO_SRC:-}${ODOO_PY}" ] && [ "${G2P_SKIP_ODOO:-}" != 1 ]; then
        wanted+=(chromium)
    fi
    for pkg in "${wanted[@]}"; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "${G2P_SCRIPT:-setup}: missing Debian packages (need root to install): ${missing[*]}"
        return 0
    fi
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    quietly "$WORK/apt.log" apt-get update -q || return 1
    quietly "$WORK/apt.log" apt-get install -y -q --no-install-recommends \
        "${missing[@]}" || return 1
}

# ---------------------------------------------------------------------------
# 2. virtualenv
# ---------------------------------------------------------------------------
python_env() {
    if [ ! -x "$VPY" ]; then
        say "virtualenv $VENV"
        "$PY" -m venv "$VENV" || return 1
    fi
    local stamp="$VENV/.g2p-requirements.sha256"
    local want
    want=$(sha_of requirements.txt requirements-test.txt)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "pip install -r requirements.txt -r requirements-test.txt"
        quietly "$WORK/pip.log" "$VPY" -m pip install -q \
            -r requirements.txt -r requirements-test.txt || return 1
        echo "$want" >"$stamp"
    fi
}

# Find Odoo 17: $ODOO_SRC (a tree, an archive or a URL; archives are
# unpacked once into $G2P_SOURCES), else an importable odoo 17 in $PY, else
# the official 17.0 source archive, downloaded once.  Sets ODOO_SRC (a tree)
# or ODOO_PY; when there is none both stay empty and ODOO_HINT says why in
# one line.  A given but unusable ODOO_SRC is fatal.
ODOO_PY=""
ODOO_HINT=""
SOURCES="$REPO/setup/odoo_sources.py"
find_odoo() {
    local found rc
    if [ -n "${ODOO_SRC:-}" ]; then
        found=$("$PY" "$SOURCES" odoo "$ODOO_SRC"); rc=$?
        case $rc in
            0) ODOO_SRC="$found" ;;
            3) ODOO_SRC=""; ODOO_HINT="ODOO_SRC could not be fetched (see above)" ;;
            *) die "ODOO_SRC=$ODOO_SRC is not usable (see above)" ;;
        esac
        return 0
    fi
    found=$("$PY" - 2>/dev/null <<'EOF'
import os, odoo.release as r
if r.version_info[0] == 17:
    print(os.path.dirname(os.path.dirname(os.path.abspath(r.__file__))))
EOF
)
    if [ -n "$found" ]; then
        if [ -f "$found/odoo-bin" ]; then
            ODOO_SRC="$found"
        else
            ODOO_PY=$(command -v "$PY")
        fi
        return 0
    fi
    if [ "${G2P_NO_DOWNLOAD:-}" = 1 ]; then
        ODOO_HINT="no Odoo 17 found (set ODOO_SRC to an Odoo 17 tree, archive or URL)"
        return 0
    fi
    found=$("$PY" "$SOURCES" odoo 2>"$WORK/odoo-fetch.err"); rc=$?
    if [ $rc -eq 0 ]; then
        ODOO_SRC="$found"
    else
        ODOO_HINT=$(tail -n 1 "$WORK/odoo-fetch.err")
    fi
}

# The real OpenG2P base: $OPENG2P_SRC (addons folder, archive or URL) ->
# OPENG2P_ADDONS, the comma-separated addons dirs inside it.
OPENG2P_ADDONS=""
find_openg2p() {
    [ -n "${OPENG2P_SRC:-}" ] || return 0
    OPENG2P_ADDONS=$("$PY" "$SOURCES" openg2p "$OPENG2P_SRC") \
        || die "OPENG2P_SRC=$OPENG2P_SRC is not usable (see above)"
}

# Python packages of the real base (its manifests' external dependencies).
# boto3 is pinned <=1.15.18 by storage_backend_s3 / g2p_documents, and its
# own botocore 1.18 does not import under urllib3 2: install boto3 alone and
# let a current botocore serve it.  vcrpy-unittest and freezegun: the base's
# own test packages import them, and Odoo imports every installed module's
# tests when it runs ours.
openg2p_env() {
    [ -n "$OPENG2P_ADDONS" ] || return 0
    local stamp="$VENV/.g2p-openg2p.sha256" want
    want=$(declare -f openg2p_env | sha256sum | cut -d' ' -f1)
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
    say "OpenG2P base requirements into $VENV"
    quietly "$WORK/pip-openg2p.log" "$VPY" -m pip install -q \
        schwifty python-slugify cachetools num2words python-dateutil \
        vcrpy-unittest freezegun \
        botocore s3transfer jmespath || return 1
    quietly "$WORK/pip-openg2p.log" "$VPY" -m pip install -q --no-deps \
        "boto3==1.15.18" || return 1
    echo "$want" >"$stamp"
}

# The stand-in base's OCA addons (queue_job from PyPI, pinned in
# requirements-standin.txt) in a directory of their own, never in $VENV's
# odoo/addons: the real-base tier shares $VENV and must load OpenG2P's vendored
# queue_job.  Reused while the pins do not change; tests/odoo_tier/run.py puts
# it on the stand-in's addons path (G2P_STANDIN_ADDONS, exported here).
standin_env() {
    [ -n "${ODOO_SRC:-}${ODOO_PY}" ] || return 0
    local dir
    dir=$("$VPY" tests/odoo_tier/standin_addons.py 2>"$WORK/pip-standin.log") || {
        tail -n 5 "$WORK/pip-standin.log"
        return 1
    }
    [ -s "$WORK/pip-standin.log" ] && cat "$WORK/pip-standin.log"
    export G2P_STANDIN_ADDONS="$dir"
}

# Odoo's own requirements, adapted for a current Python stack, then Odoo
# itself (editable, compat mode) and the OCA fastapi addons from PyPI.
odoo_env() {
    [ -n "${ODOO_SRC:-}" ] || return 0
    [ -f "$ODOO_SRC/odoo-bin" ] || return 0      # run.py explains the skip
    local stamp="$VENV/.g2p-odoo.sha256" want
    # Redo when the tree, its requirements or this function's recipe change.
    want=$(printf '%s\n%s\n%s' "$ODOO_SRC" "$(sha_of "$ODOO_SRC/requirements.txt")" \
        "$(declare -f odoo_env)" | sha256sum | cut -d' ' -f1)
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
    say "Odoo 17 requirements into $VENV (from $ODOO_SRC)"
    "$VPY" - "$ODOO_SRC/requirements.txt" "$WORK/odoo-req.txt" "$WORK/odoo-req-optional.txt" <<'EOF' || return 1
import re, sys
src, main_out, opt_out = sys.argv[1:]
main, optional = [], []
for raw in open(src, encoding="utf-8"):
    line = raw.split("#", 1)[0].strip()
    if not line:
        continue
    name = re.match(r"[A-Za-z0-9_.\-]+", line).group(0).lower()
    if name in ("cryptography", "pyopenssl", "urllib3", "idna"):
        # The py3.11 pins (cryptography 3.4.8, pyopenssl 21, urllib3 1.26.5,
        # idna 2.10) break with current wheels: urllib3 1.26.5's pyopenssl
        # shim imports modules that cryptography >= 42 no longer has.
        continue
    if name == "psycopg2":
        line = "psycopg2-binary" + line[len(name):]
    if name in ("python-ldap", "gevent", "greenlet"):
        optional.append(line)  # may need a C toolchain and headers; best effort
    else:
        main.append(line)
# gevent (Odoo's websocket process in workers mode) finds its plugins through
# pkg_resources, which with setuptools<70 cannot see zope.interface>=7.1 /
# zope.event>=5.1 (normalised metadata names): the process then dies and is
# respawned about once a second.
optional += ["zope.interface<7.1", "zope.event<5.1"]
main += [
    "cryptography>=42,<46", "pyopenssl>=24.1,<26",  # the pair Odoo 17 was tried with
    "urllib3>=2.0.7,<3", "idna>=3.6",
    "setuptools<70",  # Odoo 17 imports pkg_resources
]
open(main_out, "w").write("\n".join(main) + "\n")
open(opt_out, "w").write("\n".join(optional) + "\n")
EOF
    quietly "$WORK/pip-odoo.log" "$VPY" -m pip install -q -r "$WORK/odoo-req.txt" || return 1
    local line
    while read -r line; do
        [ -n "$line" ] || continue
        "$VPY" -m pip install -q "$line" >>"$WORK/pip-odoo.log" 2>&1 \
            || echo "note: optional Odoo requirement not installed: $line"
    done <"$WORK/odoo-req-optional.txt"
    quietly "$WORK/pip-odoo.log" "$VPY" -m pip install -q --no-deps \
        --config-settings editable_mode=compat -e "$ODOO_SRC" || return 1
    quietly "$WORK/pip-odoo.log" "$VPY" -m pip install -q \
        "odoo-addon-fastapi>=17.0,<17.1dev" \
        "odoo-addon-endpoint-route-handler>=17.0,<17.1dev" \
        httpx2 || return 1   # httpx2: starlette's TestClient, imported by fastapi's tests
    # Requirements of the project win over Odoo's pins where they overlap.
    quietly "$WORK/pip-odoo.log" "$VPY" -m pip install -q \
        -r requirements.txt -r requirements-test.txt || return 1
    echo "$want" >"$stamp"
}
