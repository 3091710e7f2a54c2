"""A program paid by a Daraja B2C manager, against the Daraja simulator.

The simulator keeps its callbacks in an outbox; ``deliver_callbacks`` posts
them through the FastAPI test client of the Mpesa callbacks endpoint (the
test transaction is never committed, so Odoo cannot be called over HTTP).
"""

import base64
from urllib.parse import urlsplit

from odoo.addons.fastapi.tests.common import FastAPITransactionCase

from ..mpesa import const
from .common import MpesaCase

try:
    from g2p_simulators.daraja import DarajaSimulator
except ImportError as exc:  # a test double, not shipped with the addon
    raise ImportError(
        "the Daraja tests need the simulator: put tests/support of the repository "
        "on PYTHONPATH (tests/odoo_tier/run.py does)"
    ) from exc

CALLBACK_BASE = "http://odoo.test"


class DarajaCase(MpesaCase, FastAPITransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.daraja = DarajaSimulator(delivery="outbox")
        cls.daraja.start()
        cls.addClassCleanup(cls.daraja.stop)
        cls.endpoint = cls.env.ref(
            "g2p_payment_simple_mpesa.fastapi_endpoint_mpesa_callbacks"
        )
        cls.default_fastapi_running_user = cls.endpoint.user_id
        cls.manager.write(cls.daraja_settings())
        cls.manager.invalidate_recordset()

    @classmethod
    def daraja_settings(cls, **overrides):
        sim = cls.daraja
        vals = {
            "gateway_type": const.GATEWAY_DARAJA_B2C,
            "auth_endpoint_url": sim.token_url,
            "payment_endpoint_url": sim.payment_url,
            "daraja_consumer_key": sim.consumer_key,
            "daraja_consumer_secret": sim.consumer_secret,
            "daraja_shortcode": sim.shortcode,
            "daraja_initiator_name": sim.initiator_name,
            "daraja_initiator_password": sim.initiator_password,
            "daraja_certificate": base64.b64encode(sim.certificate_pem),
            "daraja_callback_base_url": CALLBACK_BASE,
            "api_timeout": 1,
        }
        vals.update(overrides)
        return vals

    def setUp(self):
        super().setUp()
        self.daraja.reset()

    def send_cycle(self, count=3, amount=1500):
        """Prepare, send and run the cron on a cycle of ``count`` phones."""
        cycle = self.phone_cycle(count, amount=amount)
        self.prepare_and_send(cycle)
        self.run_cron()
        return self.payments(cycle)

    # -- callbacks -------------------------------------------------------------
    def client(self):
        return self._create_test_client(
            app=self.endpoint._get_app(), raise_server_exceptions=False
        )

    def callback_path(self, url):
        path = urlsplit(url).path
        self.assertTrue(path.startswith(self.endpoint.root_path), path)
        return path[len(self.endpoint.root_path) :]

    def deliver_callbacks(self):
        """Post every pending simulator callback; returns the responses."""
        responses = []
        with self.client() as client:
            for url, body in self.daraja.take_callbacks():
                responses.append(client.post(self.callback_path(url), json=body))
        self.env.invalidate_all()
        for response in responses:
            self.assertEqual(response.status_code, 200, response.text)
        return responses

    def post_callback(self, kind, body, secret=None):
        secret = secret or self.manager.daraja_callback_secret
        with self.client() as client:
            response = client.post(f"/daraja/{secret}/{kind}", json=body)
        self.env.invalidate_all()
        return response

    def assert_paid_once(self, payments):
        ledger = self.daraja.ledger()
        for payment in payments:
            self.assertEqual(ledger.get(payment.mpesa_account_no), 1, ledger)
        self.assertEqual(set(payments.mapped("mpesa_state")), {const.PAID})


__all__ = ["DarajaCase", "const"]
