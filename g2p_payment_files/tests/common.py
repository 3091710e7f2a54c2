from odoo import Command, fields
from odoo.tests import TransactionCase

VOUCHER_TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"/><title>Voucher</title></head>
<body>
  <h1>Voucher <t t-out="object.name"/></h1>
  <p>Beneficiary: <t t-out="object.partner_id.name"/></p>
  <p>Amount: <t t-out="object.amount_issued"/></p>
  <img t-att-src="qrcodes.get_by_name('jwt').content_htmlsafe"/>
  <img t-att-src="qrcodes.get_by_name('cwt').content_htmlsafe"/>
  <img t-att-src="qrcodes.get_by_name('ref').content_htmlsafe"/>
</body></html>"""

BATCH_TEMPLATE = """<html><body>
  <h1>Batch <t t-out="object.name"/></h1>
  <t t-foreach="object.payment_ids" t-as="pay"><p t-out="pay.name"/></t>
  <img t-att-src="qrcodes.get_by_name('batch-jwt').content_htmlsafe"/>
</body></html>"""

CLAIMS_TEMPLATE = (
    '{"payment": {{ json_dumps(object.name) }}, '
    '"beneficiary": {{ json_dumps(object.partner_id.name) }}, '
    '"amount": {{ object.amount_issued }}}'
)


class FilePaymentCase(TransactionCase):
    """A program with an approved cycle, approved entitlements, a document store,
    a PDF voucher config (JWT, CWT and Code-128 codes) and a file payment manager.
    """

    ENTITLEMENT_COUNT = 3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env["ir.config_parameter"].sudo().set_param(
            "web.base.url", "https://vouchers.example.org"
        )
        cls.store = cls.env["storage.backend"].create({"name": "Voucher store"})
        cls.program = cls.env["g2p.program"].create(
            {"name": "Files Program", "supporting_documents_store": cls.store.id}
        )
        cls.registrants = cls.env["res.partner"].create(
            [
                {"name": 'Beneficiary "%d" & Co' % i, "is_registrant": True}
                for i in range(cls.ENTITLEMENT_COUNT)
            ]
        )
        cls.cycle = cls.create_cycle("Cycle 1")
        cls.entitlements = cls.create_entitlements(cls.cycle, cls.registrants)
        cls.file_config = cls.env["g2p.payment.file.config"].create(
            {
                "name": "Voucher",
                "type": "pdf",
                "body_string": VOUCHER_TEMPLATE,
                "qrcode_config_ids": [
                    Command.create(
                        {
                            "name": "jwt",
                            "type": "qrcode",
                            "data_type": "jwt",
                            "body_string": CLAIMS_TEMPLATE,
                            "validity_days": 30,
                        }
                    ),
                    Command.create(
                        {
                            "name": "cwt",
                            "type": "qrcode",
                            "data_type": "cwt",
                            "body_string": CLAIMS_TEMPLATE,
                            "cwt_prefix": "G2P:",
                        }
                    ),
                    Command.create(
                        {
                            "name": "ref",
                            "type": "code-128-barcode",
                            "data_type": "string",
                            "body_string": "{{ object.name[:12] }}",
                        }
                    ),
                ],
            }
        )
        cls.manager = cls.env["g2p.program.payment.manager.file"].create(
            {
                "name": "File manager",
                "program_id": cls.program.id,
                "create_batch": False,
                "payment_file_config_ids": [Command.set(cls.file_config.ids)],
                # Both bases pay only tag-matched entitlements, batched or not.
                "batch_tag_ids": [
                    Command.create({"name": "All", "order": 1, "domain": "[]"})
                ],
            }
        )
        # Both bases give a program one payment manager: repoint its wrapper.
        cls.program.payment_managers.manager_ref_id = cls.manager

    @classmethod
    def create_cycle(cls, name):
        today = fields.Date.today()
        return cls.env["g2p.cycle"].create(
            {
                "name": name,
                "program_id": cls.program.id,
                "state": "approved",
                "start_date": today,
                "end_date": today,
            }
        )

    @classmethod
    def create_entitlements(cls, cycle, partners):
        return cls.env["g2p.entitlement"].create(
            [
                {
                    "partner_id": partner.id,
                    "cycle_id": cycle.id,
                    "initial_amount": 100.0 + i,
                    "state": "approved",
                }
                for i, partner in enumerate(partners)
            ]
        )

    def payments(self, cycle=None):
        """The cycle's payments by id (no base guarantees their order)."""
        return self.env["g2p.payment"].search(
            [("cycle_id", "=", (cycle or self.cycle).id)], order="id"
        )

    def jwks(self):
        return self.env["g2p.crypto.key.set"]._get_published_jwks()
