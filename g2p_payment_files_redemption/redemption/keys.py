"""Device API keys: made once, shown once, stored as a hash.

A key reads ``g2pr_<key id>_<secret>``.  The key id finds the device without
scanning every hash; the secret is checked against its SHA-256 in constant
time.  The secret has 256 bits of entropy, so a fast hash is enough (no
password stretching needed, unlike for human passwords).
"""

import hashlib
import hmac
import secrets

from .const import KEY_ID_BYTES, KEY_PREFIX, KEY_SECRET_BYTES


def new_key():
    """(key id, full key to show once, hash to store)."""
    key_id = secrets.token_hex(KEY_ID_BYTES)
    secret = secrets.token_urlsafe(KEY_SECRET_BYTES)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}", digest(secret)


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def split(key):
    """(key id, secret) of a presented key, or (None, None) if malformed."""
    parts = (key or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None, None
    return parts[1], parts[2]


def matches(secret, stored_digest):
    return bool(stored_digest) and hmac.compare_digest(digest(secret), stored_digest)


def code_digest(code):
    """Index key of a voucher code as scanned (surrounding blanks ignored)."""
    return hashlib.sha256((code or "").strip().encode()).hexdigest()


def request_digest(code, transaction_id):
    """What a transaction id stands for: the same id with other content is a replay."""
    return hashlib.sha256(f"{code_digest(code)}|{transaction_id}".encode()).hexdigest()
