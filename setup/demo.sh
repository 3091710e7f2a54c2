#!/usr/bin/env bash
# The demo in one command:   ODOO_SRC=/path/to/odoo-17 bash setup/demo.sh
# On the real OpenG2P base: DEMO_BASE=openg2p OPENG2P_SRC=/path/to/openg2p bash setup/demo.sh
#
# Prepares the same environment as setup/test.sh (Debian packages when run as
# root, the .venv virtualenv with Odoo's and the project's requirements and the
# OCA fastapi addon), then setup/demo.py starts PostgreSQL (private cluster in
# .work/demo/, or PGHOST), the bundled Mpesa gateway simulator and Odoo 17 with
# both addons and the demo data, and prints the URLs, the login and what to
# click. Ctrl-C stops everything; the next start reuses the database.
#
# Options: --reset (start over), --update (after a code change), --smoke (start,
# check, stop). Settings: DEMO_ODOO_PORT=8069, DEMO_SIMULATOR_PORT=6700, ... (see
# setup/demo.py). G2P_ODOO_PYTHON=/path/to/python skips the environment step and
# runs Odoo with that interpreter.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo" || exit 2

if [ -n "${G2P_ODOO_PYTHON:-}" ]; then
    exec "$G2P_ODOO_PYTHON" "$repo/setup/demo.py" "$@"
fi

G2P_SCRIPT=setup/demo.sh
# shellcheck source=setup/env.sh
source "$repo/setup/env.sh" || exit 2

find_odoo
find_openg2p
export OPENG2P_ADDONS
system_packages || { echo "demo: installing Debian packages failed (see $WORK/apt.log)"; exit 1; }
if [ -n "${ODOO_SRC:-}" ] && [ -f "$ODOO_SRC/odoo-bin" ]; then
    if [ ! -f "$VENV/.g2p-odoo.sha256" ]; then
        echo "demo: preparing $VENV with Odoo's requirements (first time: several minutes)"
    fi
    python_env || { echo "demo: creating $VENV failed (see $WORK/pip.log)"; exit 1; }
    odoo_env || { echo "demo: installing Odoo's requirements failed (see $WORK/pip-odoo.log)"; exit 1; }
    openg2p_env || { echo "demo: installing the OpenG2P base's requirements failed (see $WORK/pip-openg2p.log)"; exit 1; }
    if [ "${DEMO_BASE:-standin}" = standin ]; then
        standin_env || { echo "demo: installing the stand-in base's queue_job failed (see $WORK/pip-standin.log)"; exit 1; }
    fi
    export ODOO_SRC
    exec "$VPY" "$repo/setup/demo.py" "$@"
elif [ -n "$ODOO_PY" ]; then
    export G2P_ODOO_PYTHON="$ODOO_PY"
    exec "$ODOO_PY" "$repo/setup/demo.py" "$@"
fi
# No Odoo 17: one line saying so.
echo "demo: ${ODOO_HINT:-no Odoo 17 found (set ODOO_SRC to an Odoo 17 tree, archive or URL)}"
exit 2
