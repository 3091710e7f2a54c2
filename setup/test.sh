#!/usr/bin/env bash
# The project's one test command:  bash setup/test.sh
#
#   1. Debian packages it needs (apt, only what is missing, only as root)
#   2. a virtualenv (.venv, or $G2P_VENV) with requirements*.txt
#   3. lint: ruff on the repo, pylint-odoo mandatory checks on the 5 modules
#   4. pure tier: pytest tests/pure (never needs Odoo)
#   5. Odoo tier: tests/odoo_tier/run.py (needs Odoo 17: $ODOO_SRC, or an
#      importable odoo 17 in $PYTHON / python3); skipped with one line if absent
#   6. a summary; exit status non-zero if any tier failed
#
# Environment: ODOO_SRC, G2P_VENV, PYTHON, PGHOST/PGPORT/PGUSER (external
# PostgreSQL instead of a private throw-away cluster), G2P_SKIP_LINT=1,
# G2P_SKIP_ODOO=1, G2P_SKIP_APT=1, G2P_WORK (logs and results; default .work/).
set -uo pipefail

G2P_SCRIPT=setup/test.sh
# shellcheck source=setup/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" || exit 2
T_START=$SECONDS
trap 'echo "setup/test.sh: interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------
# Tiers
# ---------------------------------------------------------------------------
lint() {
    local rc=0 mods=() m
    say "lint: ruff check"
    "$VENV/bin/ruff" check --output-format=concise . || rc=1
    for m in "${MODULES[@]}"; do
        if [ -f "$m/__manifest__.py" ]; then
            mods+=("$m")
        else
            echo "lint: module $m is missing"
            rc=1
        fi
    done
    if [ ${#mods[@]} -gt 0 ]; then
        say "lint: pylint-odoo (.pylintrc-mandatory) on ${#mods[@]} modules"
        "$VENV/bin/pylint" --rcfile=.pylintrc-mandatory -j 2 "${mods[@]}" \
            && echo "pylint-odoo: clean" || rc=1
    fi
    return $rc
}

pure_tier() {
    say "pure tier: pytest tests/pure"
    "$VPY" -m pytest tests/pure -p no:cacheprovider \
        --junitxml="$WORK/junit-pure.xml" -o junit_family=xunit2
    local rc=$?
    if [ $rc -eq 5 ]; then
        echo "pure tier: pytest collected no tests (counted as a failure)"
    fi
    return $rc
}

odoo_tier() {
    say "Odoo tier"
    local args=(--result-json "$WORK/odoo-result.json" --work-dir "$WORK")
    if [ -n "${ODOO_SRC:-}" ]; then
        args+=(--odoo-src "$ODOO_SRC")
    elif [ -n "$ODOO_PY" ]; then
        export G2P_ODOO_PYTHON="$ODOO_PY"
    else
        echo "Odoo tier skipped: no Odoo 17 found (set ODOO_SRC=/path/to/odoo-17 source tree)"
        return 3
    fi
    "$VPY" tests/odoo_tier/run.py "${args[@]}"
}

# ---------------------------------------------------------------------------
main() {
    local t lint_rc=0 pure_rc=0 odoo_rc=0 lint_s=0 pure_s=0 odoo_s=0
    rm -f "$WORK/junit-pure.xml" "$WORK/junit-e2e.xml" "$WORK/odoo-result.json"

    find_odoo
    system_packages || die "installing Debian packages failed (see $WORK/apt.log)"
    t=$SECONDS
    python_env || die "creating the virtualenv failed (see $WORK/pip.log)"
    if [ "${G2P_SKIP_ODOO:-}" != 1 ]; then
        odoo_env || die "installing Odoo's requirements failed (see $WORK/pip-odoo.log)"
    fi
    echo "environment ready in $((SECONDS - t)) s ($VENV)"

    if [ "${G2P_SKIP_LINT:-}" = 1 ]; then
        lint_rc=3
    else
        t=$SECONDS; lint; lint_rc=$?; lint_s=$((SECONDS - t))
    fi
    t=$SECONDS; pure_tier; pure_rc=$?; pure_s=$((SECONDS - t))
    if [ "${G2P_SKIP_ODOO:-}" = 1 ]; then
        echo "Odoo tier skipped: G2P_SKIP_ODOO=1"
        odoo_rc=3
    else
        t=$SECONDS; odoo_tier; odoo_rc=$?; odoo_s=$((SECONDS - t))
    fi

    say "summary ($((SECONDS - T_START)) s)"
    "$VPY" tests/odoo_tier/summary.py --work "$WORK" \
        --lint "$lint_rc:$lint_s" --pure "$pure_rc:$pure_s" --odoo "$odoo_rc:$odoo_s"
}

main "$@"
