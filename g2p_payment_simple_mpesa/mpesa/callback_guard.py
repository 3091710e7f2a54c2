"""Who may post Daraja callbacks, and how big they may be (no HTTP, no Odoo).

Operators harden callback URLs the same way: an optional allow-list of source
addresses (Safaricom publishes the ones its callbacks come from), a trusted
reverse proxy whose ``X-Forwarded-For`` alone is believed, and a body size
limit.  An empty allow-list lets every address through: the secret in the
path still authenticates the caller.
"""

import ipaddress

MAX_CALLBACK_BYTES = 64 * 1024


class CallbackForbidden(Exception):
    """A callback from an address the manager does not accept (403)."""


class CallbackTooLarge(Exception):
    """A callback body over :data:`MAX_CALLBACK_BYTES` (413)."""


def parse_networks(text):
    """Networks from a list of addresses or CIDRs (commas, spaces or lines).

    ValueError names the first entry that is not an address.
    """
    networks = []
    for entry in (text or "").replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(entry) from None
    return networks


def _address(text):
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def client_address(peer, forwarded_for, trusted_proxies):
    """The caller's address: the peer, unless the peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right and the
    first address that is not itself a trusted proxy is the caller; anything
    further left was written by the caller and proves nothing.
    """
    trusted = parse_networks(trusted_proxies) if trusted_proxies else []
    current = _address(peer)

    def is_trusted(address):
        return address is not None and any(address in net for net in trusted)

    if not is_trusted(current) or not forwarded_for:
        return str(current) if current else (peer or "")
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            return hop  # unparsable: never matches an allow-list
        if not is_trusted(address):
            return str(address)
    return str(current)


def allowed(address, allowlist):
    """Whether ``address`` may post callbacks (an empty allow-list allows all)."""
    networks = parse_networks(allowlist)
    if not networks:
        return True
    parsed = _address(address)
    return parsed is not None and any(parsed in net for net in networks)
