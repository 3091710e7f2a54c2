import uuid

from odoo import Command
from odoo.tests import tagged

from .common import FilePaymentCase

LIGHT_TEMPLATE = "<html><body><p t-out='object.name'/></body></html>"


@tagged("post_install", "-at_install")
class TestChunkIssuedPayments(FilePaymentCase):
    """A chunk job issues its planned payments and batches in bulk; they must
    be the records the base's own prepare makes for the same entitlements."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        partners = cls.env["res.partner"].create(
            [
                {
                    "name": "%s beneficiary %02d" % ("Tagged" if i % 3 else "Plain", i),
                    "is_registrant": True,
                }
                for i in range(12)
            ]
        )
        cls.env["res.partner.bank"].create(
            [
                {"acc_number": "ACC-%02d" % i, "partner_id": partner.id}
                for i, partner in enumerate(partners)
                if i % 2
            ]
        )
        cls.partners = partners
        cls.base_cycle = cls.create_cycle("Prepared by the base")
        cls.chunk_cycle = cls.create_cycle("Prepared by chunks")
        for cycle in (cls.base_cycle, cls.chunk_cycle):
            entitlements = cls.create_entitlements(cycle, partners)
            for i, entitlement in enumerate(entitlements):
                entitlement.transfer_fee = i / 4
        config = cls.env["g2p.payment.file.config"].create(
            {"name": "Light", "type": "pdf", "body_string": LIGHT_TEMPLATE}
        )
        cls.manager.write(
            {
                "create_batch": True,
                "voucher_chunk_size": 4,
                "batch_tag_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "name": "Tagged",
                            "order": 1,
                            "domain": "[('partner_id.name', 'like', 'Tagged')]",
                            "max_batch_size": 3,
                            "file_config_ids": [Command.set(config.ids)],
                        }
                    ),
                    Command.create(
                        {
                            "name": "Rest",
                            "order": 2,
                            "domain": "[]",
                            "max_batch_size": 3,
                            "file_config_ids": [Command.set(config.ids)],
                        }
                    ),
                ],
            }
        )

    def _entitlements(self, cycle):
        return self.env["g2p.entitlement"].search(
            [("cycle_id", "=", cycle.id)], order="id"
        )

    def _run_chunks(self, cycle):
        chunks = self.manager._plan_voucher_chunks(cycle)
        self.assertGreater(len(chunks), 1, "the test needs several chunks")
        for chunk in chunks:
            chunk._run()
        return chunks

    def _by_partner(self, cycle):
        return {
            payment.partner_id: (
                payment.amount_issued,
                payment.payment_fee,
                payment.state,
                payment.account_number or False,
                payment.batch_id.tag_id.name,
                len(payment.batch_id.payment_ids),
                len(payment.payment_file_ids),
            )
            for payment in self.payments(cycle)
        }

    def test_chunk_payments_and_batches_are_those_the_base_makes(self):
        self.manager._prepare_payments_and_files(
            self.base_cycle, self._entitlements(self.base_cycle)
        )
        self._run_chunks(self.chunk_cycle)
        expected = self._by_partner(self.base_cycle)
        self.assertEqual(len(expected), 12)
        self.assertEqual(self._by_partner(self.chunk_cycle), expected)
        payments = self.payments(self.chunk_cycle)
        self.assertEqual(
            sorted(payments.mapped("account_number"), key=str),
            sorted(self.payments(self.base_cycle).mapped("account_number"), key=str),
        )
        for batch in self.chunk_cycle.payment_batch_ids:
            self.assertTrue(batch.stats_datetime)
            self.assertEqual(
                batch.payment_ids, payments.filtered(lambda p, b=batch: p.batch_id == b)
            )
        names = payments.mapped("name") + self.chunk_cycle.payment_batch_ids.mapped(
            "name"
        )
        self.assertEqual(len(set(names)), len(names))
        for name in names:
            uuid.UUID(name)

    def test_entitlements_no_longer_payable_are_left_out_and_failed_ones_paid(self):
        chunks = self.manager._plan_voucher_chunks(self.chunk_cycle)
        first, second, third = self._entitlements(self.chunk_cycle)[:3]
        # After the click, before the jobs ran:
        first.state = "draft"
        self.env["g2p.payment"].create(
            {
                "name": "Paid meanwhile",
                "entitlement_id": second.id,
                "cycle_id": self.chunk_cycle.id,
                "amount_issued": second.initial_amount,
            }
        )
        self.env["g2p.payment"].create(
            {
                "name": "Failed before",
                "entitlement_id": third.id,
                "cycle_id": self.chunk_cycle.id,
                "amount_issued": third.initial_amount,
                "status": "failed",
            }
        )
        for chunk in chunks:
            chunk._run()
        paid = self.payments(self.chunk_cycle).filtered(
            lambda p: p.name not in ("Paid meanwhile", "Failed before")
        )
        self.assertEqual(len(paid), 10)
        self.assertNotIn(first, paid.entitlement_id)
        self.assertNotIn(second, paid.entitlement_id)
        self.assertIn(third, paid.entitlement_id)
        self.assertEqual(sum(chunks.mapped("payment_count")), 10)
