"""One Daraja OAuth token per consumer key, shared by every Odoo server.

Two ``TokenCache`` objects over one ``DarajaTokenStore`` stand for two
servers.  The store normally opens its own cursor, which would not see this
test's uncommitted transaction (and would commit into the test database);
here its cursor factory runs each exchange in a savepoint of the test
cursor, so the store's SQL (insert, row lock, update) runs for real and
everything is rolled back with the test.
"""

import threading
import time
import uuid
from contextlib import contextmanager
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..models.daraja_token import DarajaTokenStore
from ..mpesa import daraja_token
from ..mpesa.daraja_token import TokenCache
from ..mpesa.errors import AuthError
from .common_daraja import DarajaCase, const

TOKEN_MODEL = "g2p.mpesa.daraja.token"


@tagged("post_install", "-at_install")
class TestDarajaTokenShared(DarajaCase):
    def setUp(self):
        super().setUp()
        self.key = daraja_token.store_key(
            self.daraja.token_url, self.daraja.consumer_key
        )

    @contextmanager
    def _test_cursor(self):
        with self.env.cr.savepoint():
            yield self.env.cr

    def server(self):
        """A client with its own process cache over the shared database store."""
        store = DarajaTokenStore(self.key, "test", self._test_cursor, 5.0)
        client = self.manager._daraja_client()
        self.addCleanup(client.close)
        client.tokens = TokenCache(store=store)
        return client

    def pay(self, client, n):
        outcome = client.pay(f"tok-{n}", 100, self.msisdn(n), "Cash")
        self.assertEqual(outcome.kind, const.OK, outcome)
        return outcome

    def stored(self):
        return self.env[TOKEN_MODEL].sudo().search([("key", "=", self.key)])

    def test_two_servers_log_in_once_and_renew_once_after_invalidation(self):
        server_a, server_b = self.server(), self.server()
        self.pay(server_a, 1)
        self.pay(server_b, 2)
        self.pay(server_a, 3)
        self.assertEqual(self.daraja.tokens_issued, 1)
        self.assertEqual((server_a.tokens.logins, server_b.tokens.logins), (1, 0))
        row = self.stored()
        self.assertEqual(len(row), 1)
        self.assertEqual(row.token, server_b.token())
        first = row.token
        # Daraja revokes the token: one server logs in, the other takes its token.
        self.daraja.expire_token()
        self.pay(server_a, 4)
        self.pay(server_b, 5)
        self.assertEqual(self.daraja.tokens_issued, 2)
        self.assertEqual((server_a.tokens.logins, server_b.tokens.logins), (2, 0))
        row.invalidate_recordset()
        self.assertNotEqual(row.token, first)
        self.assertEqual(row.token, server_b.token())

    def test_store_key_is_a_digest_not_the_consumer_key(self):
        self.server().token()
        row = self.stored()
        self.assertEqual(len(row.key), 64)
        self.assertNotIn(self.daraja.consumer_key, row.key)
        self.assertGreater(row.valid_until, 0)

    def test_forced_renewal_logs_in_even_with_a_fresh_stored_token(self):
        server_a, server_b = self.server(), self.server()
        token = server_a.token()
        issued = self.daraja.tokens_issued
        self.assertNotEqual(server_b.token(force=True), token)
        self.assertEqual(self.daraja.tokens_issued, issued + 1)
        self.assertEqual(self.stored().token, server_b.token())

    def test_wrong_secret_keeps_the_stored_token(self):
        server = self.server()
        token = server.token()
        self.manager.daraja_consumer_secret = "not-the-secret"
        wrong = self.manager._daraja_client()
        self.addCleanup(wrong.close)
        wrong.tokens = TokenCache(store=server.tokens.store)
        self.assertEqual(wrong.token(), token)  # fresh stored token: no login
        with self.assertRaises(AuthError):
            wrong.token(force=True)
        self.assertEqual(self.stored().token, token)

    def test_token_is_not_readable_by_a_non_admin(self):
        self.server().token()
        for groups in (
            "base.group_user,g2p_registry_base.group_g2p_admin",
            "base.group_user,g2p_programs.g2p_program_manager",
        ):
            user = new_test_user(
                self.env, login=f"tok_{groups.rsplit('.', 1)[-1]}", groups=groups
            )
            with self.assertRaises(AccessError, msg=groups):
                self.env[TOKEN_MODEL].with_user(user).search([]).read(["token"])
        field = self.env[TOKEN_MODEL]._fields["token"]
        self.assertEqual(field.groups, "base.group_system")

    def test_test_connection_logs_in_again_through_the_store(self):
        def on_test_cursor(_cls, _dbname, key, lock_timeout):
            return DarajaTokenStore(key, "test-connection", self._test_cursor, 5.0)

        with patch.object(
            DarajaTokenStore, "for_database", classmethod(on_test_cursor)
        ):
            for _round in range(2):
                params = self.manager.action_mpesa_test_connection()["params"]
                self.assertEqual(params["type"], const.NOTIFY_INFO, params)
        self.assertEqual(self.daraja.tokens_issued, 2)
        self.assertEqual(self.stored().token, self.daraja.state.token)

    def test_servers_waiting_on_the_row_lock_take_the_new_token(self):
        # Real cursors (committed, own transactions) as two servers would
        # use; a key of its own, deleted afterwards, keeps other tests apart.
        key = daraja_token.store_key(f"urn:test:{uuid.uuid4()}", "ck")
        dbname = self.env.cr.dbname
        self.addCleanup(self._delete_committed_row, key)
        logins, tokens, started = [], [], threading.Event()

        def slow_fetch():
            started.set()
            time.sleep(0.3)  # the other server arrives while this one logs in
            logins.append(1)
            return f"token-{len(logins)}", 3599.0

        def server():
            store = DarajaTokenStore.for_database(dbname, key, 5.0)
            tokens.append(TokenCache(store=store).get(slow_fetch))

        first = threading.Thread(target=server)
        first.start()
        started.wait(5)
        second = threading.Thread(target=server)
        second.start()
        first.join(10)
        second.join(10)
        self.assertEqual(tokens, ["token-1", "token-1"])
        self.assertEqual(len(logins), 1)

    def _delete_committed_row(self, key):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM g2p_mpesa_daraja_token WHERE key = %s", [key])

    def test_manager_clients_share_one_database_backed_cache(self):
        client_a = self.manager._daraja_client()
        client_b = self.manager._daraja_client()
        self.addCleanup(client_a.close)
        self.addCleanup(client_b.close)
        self.assertIs(client_a.tokens, client_b.tokens)
        store = client_a.tokens.store
        self.assertIsInstance(store, DarajaTokenStore)
        self.assertEqual(store.scope, self.env.cr.dbname)
        self.assertEqual(store.key, self.key)
