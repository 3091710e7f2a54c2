"""The Daraja OAuth token, shared by every thread that sends for one consumer key.

Daraja invalidates a consumer key's previous token when it issues a new one,
so a renewal must never race another: renewals happen under one lock, and
one cache per (token URL, consumer key) lives for the whole process (each
cron run builds new clients, but they keep using the same token).

Several processes (Odoo servers, workers) share the token through a
``store``: an object with one method,
``exchange(fetch, stale, margin, force) -> (token, seconds_valid)``, that
decides and renews under a lock held across processes (the Odoo side keeps
it in PostgreSQL).  The memory copy stays in front of it, so most calls never
reach the store.
"""

import hashlib
import threading
import time

from .const import DARAJA_TOKEN_LOCK_SLACK, DARAJA_TOKEN_RENEW_MARGIN


def renew_margin(ttl, margin):
    """Seconds before expiry to renew: ``margin``, or a tenth of a short ttl."""
    return min(margin, ttl / 10.0)


def usable(token, seconds_left, stale=None):
    """True when ``token`` may still be used (not expiring, not just refused)."""
    return bool(token) and seconds_left > 0 and (stale is None or token != stale)


def store_key(token_url, consumer_key):
    """Key of a consumer key's token in a store; never the consumer key itself."""
    raw = f"{token_url}\n{consumer_key}".encode()
    return hashlib.sha256(raw).hexdigest()


def store_lock_timeout(http_timeout):
    """Seconds to wait for another process's renewal (connect + read timeouts)."""
    return float(sum(http_timeout)) + DARAJA_TOKEN_LOCK_SLACK


class TokenCache:
    """One OAuth token, shared by every thread and run that uses one consumer key.

    ``get`` renews it before expiry while holding a lock, so a renewal never
    races another (each new token would invalidate the one just fetched).
    With a ``store``, the renewal also holds the store's cross-process lock.
    """

    def __init__(self, clock=time.time, margin=DARAJA_TOKEN_RENEW_MARGIN, store=None):
        self.clock = clock
        self.margin = margin
        self.store = store
        self._lock = threading.Lock()
        self._token = None
        self._valid_until = 0.0
        self.logins = 0

    def get(self, fetch, stale=None, force=False):
        """The current token; ``fetch()`` -> (token, ttl) renews it.

        ``stale``: a token the gateway just refused; renewed unless another
        thread (or process) already replaced it.  ``force``: renew whatever
        is cached (Test Connection must prove the settings as saved now).
        """
        with self._lock:
            left = self._valid_until - self.clock()
            if not force and usable(self._token, left, stale):
                return self._token

            def counted_fetch():
                token, ttl = fetch()
                self.logins += 1
                return token, ttl

            if self.store is None:
                token, ttl = counted_fetch()
                seconds_valid = ttl - renew_margin(ttl, self.margin)
            else:
                token, seconds_valid = self.store.exchange(
                    counted_fetch, stale, self.margin, force
                )
            self._token = token
            self._valid_until = self.clock() + seconds_valid
            return token

    def clear(self):
        with self._lock:
            self._token = None
            self._valid_until = 0.0


_SHARED_CACHES = {}
_SHARED_LOCK = threading.Lock()


def shared_token_cache(token_url, consumer_key, store=None):
    """The process-wide cache of one consumer key at one token URL.

    With a ``store``, one cache per store ``scope`` (e.g. the database): two
    databases served by one process do not share a store.
    """
    with _SHARED_LOCK:
        key = (token_url, consumer_key, getattr(store, "scope", None))
        if key not in _SHARED_CACHES:
            _SHARED_CACHES[key] = TokenCache(store=store)
        return _SHARED_CACHES[key]
