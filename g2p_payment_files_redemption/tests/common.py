"""A prepared voucher cycle, a redemption point of its program with a keyed device."""

import uuid

from odoo.addons.fastapi.tests.common import FastAPITransactionCase
from odoo.addons.g2p_payment_files.tests.common import FilePaymentCase


class RedemptionCase(FilePaymentCase, FastAPITransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.endpoint = cls.env.ref(
            "g2p_payment_files_redemption.fastapi_endpoint_redemption"
        )
        cls.default_fastapi_running_user = cls.endpoint.user_id
        cls.cycle.prepare_payment()
        cls.point = cls.env["g2p.redemption.point"].create(
            {
                "name": "Corner Shop",
                "location": "Market street 1",
                "program_ids": [(6, 0, cls.program.ids)],
            }
        )
        cls.device, cls.key = cls.keyed_device(cls.point, "Till 1")

    @classmethod
    def keyed_device(cls, point, name):
        device = cls.env["g2p.redemption.device"].create(
            {"name": name, "point_id": point.id}
        )
        action = device.action_issue_key()
        key = cls.env["g2p.redemption.device.key"].browse(action["res_id"]).key
        return device, key

    def code_of(self, payment, name="jwt"):
        return payment.qrcode_ids.get_by_name(name).data

    def post(self, path, body, key=None):
        headers = {"Authorization": f"Bearer {key or self.key}"} if key != "" else {}
        with self._create_test_client(
            app=self.endpoint._get_app(), raise_server_exceptions=False
        ) as client:
            response = client.post(path, json=body, headers=headers)
        self.env.invalidate_all()
        return response

    def redeem(self, code, txn=None, key=None):
        return self.post(
            "/vouchers/redeem",
            {"code": code, "transaction_id": txn or uuid.uuid4().hex},
            key=key,
        )

    def error(self, response):
        return response.json()["error"]
