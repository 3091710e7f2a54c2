import json

from odoo.tests import tagged

from odoo.addons.fastapi.tests.common import FastAPITransactionCase

from ..vouchers.verify import verify_payload
from .common import FilePaymentCase

_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@tagged("post_install", "-at_install")
class TestJwksEndpoint(FilePaymentCase, FastAPITransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.endpoint = cls.env.ref("g2p_payment_files.fastapi_endpoint_data")
        cls.default_fastapi_running_user = cls.endpoint.user_id
        rsa_manager = cls.env["g2p.program.payment.manager.file"].create(
            {
                "name": "RSA manager",
                "program_id": cls.program.id,
                "key_type": "rsa",
            }
        )
        cls.rsa_key = rsa_manager.active_key_set_id

    def _client(self):
        return self._create_test_client(app=self.endpoint._get_app())

    def test_endpoint_record_is_the_payment_app_at_upstream_root_path(self):
        self.assertEqual(self.endpoint.app, "payment")
        self.assertEqual(self.endpoint.root_path, "/apiv1payment")
        self.assertFalse(self.endpoint.user_id.has_group("base.group_user"))

    def test_jwks_serves_published_public_keys_with_cache_and_cors_headers(self):
        key = self.manager.active_key_set_id
        with self._client() as client:
            response = client.get("/jwks.json", headers={"Origin": "https://x.test"})
            well_known = client.get("/.well-known/jwks.json")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["access-control-allow-origin"], "*")
        self.assertRegex(response.headers["cache-control"], r"public, max-age=\d+")
        self.assertTrue(response.headers["etag"])
        self.assertEqual(well_known.json(), response.json())
        keys = {k["kid"]: k for k in response.json()["keys"]}
        self.assertEqual(keys[key.name]["alg"], "ES256")
        self.assertEqual(keys[self.rsa_key.name]["alg"], "RS256")
        for jwk in keys.values():
            self.assertEqual(jwk["use"], "sig")
            self.assertTrue(jwk["x5c"])
            self.assertFalse(_PRIVATE_MEMBERS & set(jwk))
        self.assertNotIn("PRIVATE", response.text)
        for member in _PRIVATE_MEMBERS:
            self.assertNotIn('"%s":' % member, response.text)

    def test_unchanged_jwks_answers_304_to_if_none_match(self):
        with self._client() as client:
            first = client.get("/jwks.json")
            etag = first.headers["etag"]
            again = client.get("/jwks.json", headers={"If-None-Match": etag})
            self.assertEqual(again.status_code, 304)
            self.assertEqual(again.content, b"")
            self.assertEqual(again.headers["etag"], etag)
            self.manager.action_rotate_key()
            changed = client.get("/jwks.json", headers={"If-None-Match": etag})
        self.assertEqual(changed.status_code, 200)
        self.assertNotEqual(changed.headers["etag"], etag)

    def test_cors_preflight_is_allowed_for_get(self):
        with self._client() as client:
            response = client.options(
                "/jwks.json",
                headers={
                    "Origin": "https://verifier.test",
                    "Access-Control-Request-Method": "GET",
                },
            )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["access-control-allow-origin"], "*")

    def test_vouchers_verify_against_served_jwks_until_their_key_is_revoked(self):
        self.cycle.prepare_payment()
        payment = self.payments()[:1]
        token = payment.qrcode_ids.get_by_name("jwt").data
        old_key = self.manager.active_key_set_id
        self.manager.action_rotate_key()
        with self._client() as client:
            served = client.get("/jwks.json").json()
        self.assertEqual(verify_payload(token, served)["payment"], payment.name)
        old_key.action_revoke()
        with self._client() as client:
            served = json.loads(client.get("/jwks.json").content)
        with self.assertRaisesRegex(ValueError, "revoked"):
            verify_payload(token, served)
