"""Where the manager's secrets travel, and when an address is a new destination.

Pure logic for ``payment_manager_simple_mpesa_routes``: a credential entered
for one host must never reach another, so every URL that a secret (or a token
made from one) is sent to is a *route*, and moving a route to another host
forgets the secrets that travel it.
"""

import secrets
from urllib.parse import urlparse

from . import const

DEFAULT_PORTS = {"http": 80, "https": 443}

# URL field -> the stored secrets sent to that address, directly or as a
# token made from them (simple-mpesa's login token, Daraja's bearer token and
# the SecurityCredential made from the initiator password).
_SIMPLE_LOGIN = ("username", "password")
_DARAJA_APP = ("daraja_consumer_key", "daraja_consumer_secret")
SECRET_ROUTES = {
    "auth_endpoint_url": _SIMPLE_LOGIN + _DARAJA_APP,
    "payment_endpoint_url": _SIMPLE_LOGIN
    + _DARAJA_APP
    + ("daraja_initiator_password",),
    "daraja_status_url": _DARAJA_APP + ("daraja_initiator_password",),
    # The callback secret is part of the URLs Daraja posts results to.
    "daraja_callback_base_url": ("daraja_callback_secret",),
}

SECRET_FIELDS = frozenset(name for names in SECRET_ROUTES.values() for name in names)

# Settings without an address of their own that still decide where secrets go
# or who can read them: the gateway type picks which secrets travel the
# routes; the certificate encrypts the initiator password for its owner; the
# shortcode and initiator name say whose account the credentials pay from.
# Who may post results is decided with the credentials too: a trusted proxy
# set to any address would let anyone pass the callback allow-list.
ROUTING_SETTINGS = (
    "gateway_type",
    "daraja_certificate",
    "daraja_shortcode",
    "daraja_initiator_name",
    "daraja_callback_allowlist",
    "daraja_trusted_proxies",
)

# Secrets the system makes itself: made anew instead of cleared.
GENERATED_SECRETS = ("daraja_callback_secret",)


def destination(url):
    """``(scheme, host, port)`` a URL sends to, or None when it is no http(s) URL."""
    parsed = urlparse((url or "").strip())
    scheme = (parsed.scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not parsed.hostname:
        return None
    try:
        port = parsed.port or DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return scheme, parsed.hostname.lower().rstrip("."), port


def same_destination(old_url, new_url):
    """Whether secrets sent to ``old_url`` may go on to ``new_url``.

    Same host and port; the path may change, and http may become https on
    the same host.  https becoming http is a new destination: the secrets
    would cross the network in clear text.  A route set from no address to
    one is a new destination too; emptying one sends nothing anywhere.
    """
    old, new = destination(old_url), destination(new_url)
    if new is None:
        return True
    if old is None:
        return False
    if old[1:] == new[1:]:
        return not (old[0] == "https" and new[0] == "http")
    upgrade = ("http", "https"), (80, 443)
    return old[1] == new[1] and ((old[0], new[0]), (old[2], new[2])) == upgrade


def secrets_for(moved_routes, routes=None):
    """The secrets that travel any of ``moved_routes``, in a stable order."""
    routes = SECRET_ROUTES if routes is None else routes
    found = []
    for route in moved_routes:
        for secret in routes.get(route, ()):
            if secret not in found:
                found.append(secret)
    return found


def new_callback_secret():
    """A fresh secret for the callback URLs (URL-safe, unguessable)."""
    return secrets.token_urlsafe(const.DARAJA_SECRET_BYTES)
