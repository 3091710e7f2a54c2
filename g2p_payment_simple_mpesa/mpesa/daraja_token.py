"""The Daraja OAuth token, shared by every thread that sends for one consumer key.

Daraja invalidates a consumer key's previous token when it issues a new one,
so a renewal must never race another: renewals happen under one lock, and
one cache per (token URL, consumer key) lives for the whole process (each
cron run builds new clients, but they keep using the same token).
"""

import threading
import time

from .const import DARAJA_TOKEN_RENEW_MARGIN


class TokenCache:
    """One OAuth token, shared by every thread and run that uses one consumer key.

    ``get`` renews it before expiry while holding a lock, so a renewal never
    races another (each new token would invalidate the one just fetched).
    """

    def __init__(self, clock=time.time, margin=DARAJA_TOKEN_RENEW_MARGIN):
        self.clock = clock
        self.margin = margin
        self._lock = threading.Lock()
        self._token = None
        self._valid_until = 0.0
        self.logins = 0

    def get(self, fetch, stale=None):
        """The current token; ``fetch()`` -> (token, ttl) renews it.

        ``stale``: a token the gateway just refused; renewed unless another
        thread already replaced it.
        """
        with self._lock:
            fresh = self._token and self.clock() < self._valid_until
            if fresh and (stale is None or self._token != stale):
                return self._token
            token, ttl = fetch()
            margin = min(self.margin, ttl / 10.0)
            self._token = token
            self._valid_until = self.clock() + ttl - margin
            self.logins += 1
            return token

    def clear(self):
        with self._lock:
            self._token = None
            self._valid_until = 0.0


_SHARED_CACHES = {}
_SHARED_LOCK = threading.Lock()


def shared_token_cache(token_url, consumer_key):
    """The process-wide cache of one consumer key at one token URL."""
    with _SHARED_LOCK:
        key = (token_url, consumer_key)
        if key not in _SHARED_CACHES:
            _SHARED_CACHES[key] = TokenCache()
        return _SHARED_CACHES[key]
