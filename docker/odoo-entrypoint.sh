#!/bin/bash
# Entrypoint for the odoo:17 service: install the addons' Python requirements
# into the odoo user's site (persisted in the odoo-data volume, redone only when
# a requirements file changes), then run the image's own entrypoint.
set -euo pipefail

repo=/mnt/g2p
stamp="${HOME:-/var/lib/odoo}/.g2p-requirements.sha256"
want=$(cat "$repo/requirements.txt" "$repo/docker/odoo-requirements.txt" \
           "$repo/docker/odoo-addons-nodeps.txt" "$repo/requirements-standin.txt" \
           | sha256sum | cut -d' ' -f1)

if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "g2p: installing Python requirements (first start or changed requirements)"
    pip_install=(python3 -m pip install --user --break-system-packages
                 --no-warn-script-location --disable-pip-version-check -q)
    "${pip_install[@]}" -r "$repo/requirements.txt" -r "$repo/docker/odoo-requirements.txt"
    # The stand-in base's queue_job too: this image runs only the stand-in.
    "${pip_install[@]}" --no-deps -r "$repo/docker/odoo-addons-nodeps.txt" \
        -r "$repo/requirements-standin.txt"
    echo "$want" > "$stamp"
fi

exec /entrypoint.sh "$@"
