from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import FilePaymentCase


@tagged("post_install", "-at_install")
class TestBatchTagChecks(FilePaymentCase):
    """Both bases pay only tag-matched entitlements: a file payment manager
    refuses to prepare rather than silently pay nobody or drop entitlements."""

    def _files_count(self):
        return self.env["storage.file"].search_count([])

    def test_manager_without_batch_tags_refuses_to_prepare_and_says_how_to_fix(self):
        self.manager.batch_tag_ids = [Command.clear()]
        files_before = self._files_count()
        with self.assertRaises(UserError) as caught:
            self.cycle.prepare_payment()
        message = str(caught.exception)
        self.assertIn("File manager", message)
        self.assertIn("no batch tags", message)
        self.assertIn("domain []", message)
        self.assertFalse(self.payments())
        self.assertEqual(self._files_count(), files_before)

    def test_last_tag_by_order_must_be_the_catch_all(self):
        # The catch-all exists but comes first: later entitlements of the
        # "High" tag would be paid, the others dropped.
        self.manager.batch_tag_ids = [
            Command.clear(),
            Command.create({"name": "Everyone", "order": 1, "domain": "[]"}),
            Command.create(
                {
                    "name": "High",
                    "order": 2,
                    "domain": "[('initial_amount', '>=', 101)]",
                }
            ),
        ]
        with self.assertRaises(UserError) as caught:
            self.cycle.prepare_payment()
        message = str(caught.exception)
        self.assertIn("File manager", message)
        self.assertIn("last batch tag High", message)
        self.assertIn("domain []", message)
        self.assertFalse(self.payments())

    def test_catch_all_tag_may_be_written_with_spaces(self):
        self.manager.batch_tag_ids.domain = "[ ]"
        self.cycle.prepare_payment()
        self.assertEqual(len(self.payments()), self.ENTITLEMENT_COUNT)

    def test_preparing_again_issues_nothing_new_and_keeps_the_vouchers(self):
        self.cycle.prepare_payment()
        payments = self.payments()
        files = payments.payment_file_ids
        self.assertEqual(len(files), self.ENTITLEMENT_COUNT)
        # Nothing new to pay: the bases return no payments (None on the real
        # one); no error and no second voucher.
        self.cycle.prepare_payment()
        self.assertEqual(self.payments(), payments)
        self.assertEqual(payments.payment_file_ids, files)

    def test_unticking_create_batch_keeps_a_catch_all_tag_in_the_form(self):
        Manager = self.env["g2p.program.payment.manager.file"]
        spec = {
            "name": {},
            "program_id": {},
            "create_batch": {},
            "batch_tag_ids": {"fields": {"name": {}, "order": {}, "domain": {}}},
        }
        values = {
            "name": "Form manager",
            "program_id": self.program.id,
            "create_batch": False,
            "batch_tag_ids": [],
        }
        # The real base's own onchange clears the tags when create_batch is
        # unticked; ours runs after it and puts a catch-all tag back.
        result = Manager.onchange(values, ["create_batch"], spec)
        commands = result["value"].get("batch_tag_ids", [])
        created = [cmd[2] for cmd in commands if cmd[0] == Command.CREATE]
        self.assertEqual(len(created), 1, commands)
        self.assertEqual(created[0]["domain"], "[]")
        arch = Manager.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="batch_tag_ids"', arch)
