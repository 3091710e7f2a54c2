#!/usr/bin/env bash
# The project's one test command:  bash setup/test.sh
#
#   1. Debian packages it needs (apt, only what is missing, only as root)
#   2. a virtualenv (.venv, or $G2P_VENV) with requirements*.txt (the stand-in's
#      queue_job from requirements-standin.txt goes to a directory of its own)
#   3. lint: ruff on the repo, pylint-odoo mandatory checks on the 5 modules
#   4. pure tier: pytest tests/pure (never needs Odoo)
#   5. Odoo tiers: tests/odoo_tier/run.py once on the stand-in base and, when
#      OPENG2P_SRC is set, once more on the real OpenG2P base.  Odoo 17 comes
#      from $ODOO_SRC (tree, archive or URL), an importable odoo 17, or the
#      official 17.0 archive (downloaded once); without one, one line says so.
#   6. a summary, one line per tier; exit status non-zero if any tier failed
#
# Environment: ODOO_SRC, OPENG2P_SRC (addons folder, archive or URL),
# G2P_BASES (e.g. "openg2p": run only these Odoo tiers), G2P_VENV, PYTHON,
# G2P_SOURCES (where archives are unpacked; default .work/sources),
# PGHOST/PGPORT/PGUSER (external PostgreSQL instead of a private throw-away
# cluster), G2P_SKIP_LINT=1, G2P_SKIP_ODOO=1, G2P_SKIP_APT=1,
# G2P_NO_DOWNLOAD=1, G2P_WORK (logs and results; default .work/).
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

odoo_tier() {   # $1: standin | openg2p
    local base=$1
    say "Odoo tier ($base base)"
    local args=(--base "$base" --result-json "$WORK/odoo-result-$base.json"
                --work-dir "$WORK")
    [ "$base" = openg2p ] && args+=(--openg2p-addons "$OPENG2P_ADDONS")
    if [ -n "${ODOO_SRC:-}" ]; then
        args+=(--odoo-src "$ODOO_SRC")
    elif [ -n "$ODOO_PY" ]; then
        export G2P_ODOO_PYTHON="$ODOO_PY"
    else
        echo "Odoo tier skipped: $ODOO_HINT"
        return 3
    fi
    "$VPY" tests/odoo_tier/run.py "${args[@]}"
}

# ---------------------------------------------------------------------------
main() {
    local t lint_rc=0 pure_rc=0 lint_s=0 pure_s=0 base rc tiers=()
    rm -f "$WORK"/junit-pure.xml "$WORK"/junit-e2e-*.xml "$WORK"/odoo-result-*.json

    find_odoo
    find_openg2p
    system_packages || die "installing Debian packages failed (see $WORK/apt.log)"
    t=$SECONDS
    python_env || die "creating the virtualenv failed (see $WORK/pip.log)"
    local bases=(standin)
    [ -n "$OPENG2P_ADDONS" ] && bases+=(openg2p)
    [ -n "${G2P_BASES:-}" ] && read -r -a bases <<<"${G2P_BASES//,/ }"
    if [ "${G2P_SKIP_ODOO:-}" != 1 ]; then
        odoo_env || die "installing Odoo's requirements failed (see $WORK/pip-odoo.log)"
        openg2p_env || die "installing the OpenG2P base's requirements failed (see $WORK/pip-openg2p.log)"
        if [[ " ${bases[*]} " == *" standin "* ]]; then
            standin_env || die "installing the stand-in base's queue_job failed (see $WORK/pip-standin.log)"
        fi
    fi
    echo "environment ready in $((SECONDS - t)) s ($VENV)"

    if [ "${G2P_SKIP_LINT:-}" = 1 ]; then
        lint_rc=3
    else
        t=$SECONDS; lint; lint_rc=$?; lint_s=$((SECONDS - t))
    fi
    t=$SECONDS; pure_tier; pure_rc=$?; pure_s=$((SECONDS - t))

    for base in "${bases[@]}"; do
        if [ "${G2P_SKIP_ODOO:-}" = 1 ]; then
            echo "Odoo tier ($base base) skipped: G2P_SKIP_ODOO=1"
            tiers+=(--odoo "$base:3:0")
            continue
        fi
        t=$SECONDS; odoo_tier "$base"; rc=$?
        tiers+=(--odoo "$base:$rc:$((SECONDS - t))")
    done

    say "summary ($((SECONDS - T_START)) s)"
    "$VPY" tests/odoo_tier/summary.py --work "$WORK" \
        --lint "$lint_rc:$lint_s" --pure "$pure_rc:$pure_s" "${tiers[@]}"
}

main "$@"
