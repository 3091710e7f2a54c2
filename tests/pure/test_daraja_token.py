"""TokenCache: one Daraja token per consumer key, shared across processes by a store."""

import threading
import time

import pytest

from g2p_payment_simple_mpesa.mpesa import const, daraja_token
from g2p_payment_simple_mpesa.mpesa.daraja_token import TokenCache
from g2p_payment_simple_mpesa.mpesa.errors import AuthError

TTL = 3599.0


class Gateway:
    """Issues tokens like Daraja: each new one replaces the previous one."""

    def __init__(self):
        self.logins = 0
        self.current = None

    def fetch(self):
        self.logins += 1
        self.current = f"tok-{self.logins}"
        return self.current, TTL


class FakeStore:
    """The cross-process store's contract, with a lock instead of a row lock."""

    scope = "fake"

    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.Lock()
        self.token = None
        self.valid_until = 0.0
        self.exchanges = 0

    def exchange(self, fetch, stale, margin, force=False):
        with self.lock:
            self.exchanges += 1
            left = self.valid_until - self.clock()
            if not force and daraja_token.usable(self.token, left, stale):
                return self.token, left
            token, ttl = fetch()
            seconds_valid = ttl - daraja_token.renew_margin(ttl, margin)
            self.token, self.valid_until = token, self.clock() + seconds_valid
            return token, seconds_valid


@pytest.fixture
def clock():
    now = [1_000_000.0]
    tick = lambda: now[0]  # noqa: E731 - a clock the test moves
    tick.now = now
    return tick


def test_two_caches_sharing_a_store_log_in_once(clock):
    gateway, store = Gateway(), FakeStore(clock)
    server_a = TokenCache(clock=clock, store=store)
    server_b = TokenCache(clock=clock, store=store)
    assert server_a.get(gateway.fetch) == "tok-1"
    assert server_b.get(gateway.fetch) == "tok-1"
    assert server_a.get(gateway.fetch) == server_b.get(gateway.fetch) == "tok-1"
    assert gateway.logins == 1
    assert store.exchanges == 2  # the memory copies answer the later calls
    assert (server_a.logins, server_b.logins) == (1, 0)


def test_refused_token_is_renewed_once_and_the_other_server_takes_it(clock):
    gateway, store = Gateway(), FakeStore(clock)
    server_a = TokenCache(clock=clock, store=store)
    server_b = TokenCache(clock=clock, store=store)
    server_a.get(gateway.fetch)
    server_b.get(gateway.fetch)
    assert server_a.get(gateway.fetch, stale="tok-1") == "tok-2"
    assert server_b.get(gateway.fetch, stale="tok-1") == "tok-2"
    assert gateway.logins == 2
    assert (server_a.logins, server_b.logins) == (2, 0)


def test_a_server_renews_the_stored_token_before_expiry(clock):
    gateway, store = Gateway(), FakeStore(clock)
    server_a = TokenCache(clock=clock, store=store)
    server_b = TokenCache(clock=clock, store=store)
    server_a.get(gateway.fetch)
    server_b.get(gateway.fetch)
    clock.now[0] += TTL - 100  # inside the renewal margin of both copies
    assert server_b.get(gateway.fetch) == "tok-2"
    assert server_a.get(gateway.fetch) == "tok-2"
    assert gateway.logins == 2


def test_threads_of_two_servers_log_in_once(clock):
    gateway, store = Gateway(), FakeStore(clock)
    caches = [TokenCache(clock=clock, store=store) for _ in range(2)]
    slow = threading.Event()

    def slow_fetch():
        slow.wait(0.05)  # a renewal in flight while the others arrive
        return gateway.fetch()

    tokens = []
    threads = [
        threading.Thread(target=lambda c=c: tokens.append(c.get(slow_fetch)))
        for c in caches * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tokens == ["tok-1"] * 8
    assert gateway.logins == 1


def test_force_logs_in_through_the_store_even_when_fresh(clock):
    gateway, store = Gateway(), FakeStore(clock)
    server_a = TokenCache(clock=clock, store=store)
    server_b = TokenCache(clock=clock, store=store)
    server_a.get(gateway.fetch)
    assert server_b.get(gateway.fetch, force=True) == "tok-2"
    assert store.token == "tok-2" and gateway.logins == 2


def test_refused_login_keeps_the_stored_token_and_raises(clock):
    gateway, store = Gateway(), FakeStore(clock)
    cache = TokenCache(clock=clock, store=store)
    cache.get(gateway.fetch)

    def refused():
        raise AuthError("Daraja refused the consumer key")

    with pytest.raises(AuthError):
        cache.get(refused, force=True)
    assert store.token == "tok-1"
    assert cache.get(gateway.fetch) == "tok-1" and gateway.logins == 1


def test_without_a_store_the_cache_works_as_before(clock):
    gateway = Gateway()
    cache = TokenCache(clock=clock)
    assert cache.get(gateway.fetch) == cache.get(gateway.fetch) == "tok-1"
    assert cache.get(gateway.fetch, stale="tok-0") == "tok-1"  # already replaced
    assert cache.get(gateway.fetch, stale="tok-1") == "tok-2"
    clock.now[0] += TTL - 100
    assert cache.get(gateway.fetch) == "tok-3"
    assert cache.get(gateway.fetch, force=True) == "tok-4"
    cache.clear()
    assert cache.get(gateway.fetch) == "tok-5"
    assert cache.logins == gateway.logins == 5


def test_short_lived_token_is_renewed_a_tenth_before_expiry(clock):
    cache = TokenCache(clock=clock)
    tokens = iter([("short", 100.0), ("next", 100.0)])
    cache.get(lambda: next(tokens))
    clock.now[0] += 89
    assert cache.get(lambda: next(tokens)) == "short"
    clock.now[0] += 2
    assert cache.get(lambda: next(tokens)) == "next"


def test_store_key_never_contains_the_consumer_key():
    key = daraja_token.store_key("https://sandbox/oauth", "consumer-KEY-123")
    assert len(key) == 64 and int(key, 16) >= 0
    assert "consumer" not in key and "KEY" not in key
    assert key != daraja_token.store_key("https://prod/oauth", "consumer-KEY-123")


def test_shared_caches_are_per_store_scope():
    url, key = f"http://tokens.test/{time.time()}", "ck"
    plain = daraja_token.shared_token_cache(url, key)
    assert plain is daraja_token.shared_token_cache(url, key)
    stored = daraja_token.shared_token_cache(url, key, store=FakeStore(time.time))
    assert stored is not plain and stored.store is not None
    assert plain.store is None


def test_lock_timeout_covers_a_renewal_in_flight():
    assert daraja_token.store_lock_timeout((2.0, 3.0)) == 5.0 + (
        const.DARAJA_TOKEN_LOCK_SLACK
    )
