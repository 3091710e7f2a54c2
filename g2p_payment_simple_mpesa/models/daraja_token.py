"""The Daraja OAuth token of a consumer key, shared by every Odoo server.

Daraja invalidates a consumer key's previous token when it issues a new one,
so servers (and workers) that each logged in on their own would keep
refusing each other's token.  One row per (token URL, consumer key) holds
the current token; ``DarajaTokenStore`` renews it under that row's lock.
"""

import logging
from contextlib import contextmanager

import psycopg2
from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

import odoo
from odoo import fields, models

from ..mpesa.daraja_token import renew_margin, usable
from ..mpesa.errors import GatewayError

_logger = logging.getLogger(__name__)


class G2PMpesaDarajaToken(models.Model):
    _name = "g2p.mpesa.daraja.token"
    _description = "Daraja OAuth Token (shared by every server)"

    key = fields.Char(
        required=True,
        readonly=True,
        help="SHA-256 of the token URL and the consumer key (never the key itself).",
    )
    token = fields.Char(readonly=True, groups="base.group_system")
    valid_until = fields.Float(
        readonly=True,
        help="Epoch seconds (database clock) after which the token is renewed.",
    )

    _sql_constraints = [
        ("key_unique", "unique(key)", "One Daraja token per token URL and key."),
    ]


class DarajaTokenStore:
    """``TokenCache`` store in table g2p_mpesa_daraja_token.

    ``exchange`` runs on its own cursor (``cursor_factory()``: a context
    manager that yields a cursor and commits on a clean exit, as Odoo's
    ``registry.cursor()`` does), so the sending threads, which never use the
    cron's cursor, may call it.  It holds the row lock while logging in, so
    only one process renews; the others wait and then take the new token.
    """

    def __init__(self, key, scope, cursor_factory, lock_timeout):
        self.key = key
        self.scope = scope
        self.cursor_factory = cursor_factory
        self.lock_timeout = lock_timeout

    @classmethod
    def for_database(cls, dbname, key, lock_timeout):
        """The store of database ``dbname``, on fresh cursors of its registry."""

        @contextmanager
        def cursor_factory():
            # Looked up each time: the registry is replaced on module updates.
            with odoo.registry(dbname).cursor() as cr:
                # Odoo's repeatable read would fail the row lock with a
                # serialization error once the server it waited for commits;
                # read committed reads that server's new token instead.
                cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
                yield cr

        return cls(key, dbname, cursor_factory, lock_timeout)

    def exchange(self, fetch, stale, margin, force=False):
        try:
            with self.cursor_factory() as cr:
                return self._exchange(cr, fetch, stale, margin, force)
        except psycopg2.errors.LockNotAvailable:
            raise GatewayError(
                f"Another Odoo server held the shared Daraja token for more than "
                f"{self.lock_timeout:.0f} s while renewing it; nothing was sent. "
                f"The next run sends again; check that the token URL answers."
            ) from None
        except psycopg2.Error as exc:
            raise GatewayError(
                f"Could not read the shared Daraja token from the database "
                f"({type(exc).__name__}); nothing was sent. The next run sends again."
            ) from None

    def _exchange(self, cr, fetch, stale, margin, force):
        cr.execute(
            "SELECT set_config('lock_timeout', %s, true)",
            [f"{int(self.lock_timeout * 1000)}ms"],
        )
        cr.execute(
            "INSERT INTO g2p_mpesa_daraja_token (key, valid_until) VALUES (%s, 0) "
            "ON CONFLICT (key) DO NOTHING",
            [self.key],
        )
        cr.execute(
            "SELECT token, valid_until - extract(epoch FROM clock_timestamp()) "
            "FROM g2p_mpesa_daraja_token WHERE key = %s FOR UPDATE",
            [self.key],
        )
        token, seconds_left = cr.fetchone()
        if not force and usable(token, float(seconds_left or 0.0), stale):
            return token, float(seconds_left)
        # Still holding the row lock: no other process logs in meanwhile.
        token, ttl = fetch()
        seconds_valid = ttl - renew_margin(ttl, margin)
        cr.execute(
            "UPDATE g2p_mpesa_daraja_token SET token = %s, "
            "valid_until = extract(epoch FROM clock_timestamp()) + %s, "
            "write_date = now() AT TIME ZONE 'UTC' WHERE key = %s",
            [token, seconds_valid, self.key],
        )
        _logger.info("Shared Daraja token renewed (store key %s...)", self.key[:8])
        return token, seconds_valid
