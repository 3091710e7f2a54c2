#!/usr/bin/env bash
# The demo in one command:   ODOO_SRC=/path/to/odoo-17 bash setup/demo.sh
#
# Starts PostgreSQL (private cluster in .work/demo/, or PGHOST), the bundled
# Mpesa gateway simulator and Odoo 17 with both addons and demo data, then
# prints the URLs, the login and what to click. Ctrl-C stops everything.
# Options: --reset (start over), --update (after a code change), --smoke (CI).
# Settings: see setup/demo.py (DEMO_ODOO_PORT=8069, DEMO_SIMULATOR_PORT=6700, ...).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

has_odoo_deps() {  # the Python must run Odoo: psycopg2 + Odoo's own packages
    "$1" -c 'import psycopg2, werkzeug, lxml, passlib' >/dev/null 2>&1
}

pick_python() {
    local candidate
    if [ -n "${G2P_ODOO_PYTHON:-}" ]; then
        echo "$G2P_ODOO_PYTHON"; return
    fi
    for candidate in "$repo/.work/venv/bin/python" "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}" \
                     python3 python; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 && has_odoo_deps "$candidate"; then
            echo "$candidate"; return
        fi
    done
}

python="$(pick_python)"
if [ -z "$python" ]; then
    echo "demo: no Python with Odoo's requirements found: create a virtualenv with" \
         "pip install -r \$ODOO_SRC/requirements.txt -r requirements.txt and" \
         "run with G2P_ODOO_PYTHON=/path/to/venv/bin/python (or activate it)" >&2
    exit 1
fi
cd "$repo"
exec "$python" "$repo/setup/demo.py" "$@"
