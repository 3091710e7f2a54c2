from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import ProgramCase


@tagged("post_install", "-at_install")
class TestProgramAccess(ProgramCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Users = cls.env["res.users"].with_context(no_reset_password=True)

        def user(login, group):
            return Users.create(
                {
                    "name": login,
                    "login": login,
                    "groups_id": [
                        Command.set(
                            [cls.env.ref("base.group_user").id, cls.env.ref(group).id]
                        )
                    ],
                }
            )

        cls.program_manager = user("h1_pm", "g2p_programs.g2p_program_manager")
        cls.validator = user("h1_pv", "g2p_programs.g2p_program_validator")
        cls.finance = user("h1_fv", "g2p_programs.g2p_finance_validator")

    def test_program_manager_configures_payment_manager(self):
        Manager = self.env["g2p.program.payment.manager.default"].with_user(
            self.program_manager
        )
        manager = Manager.create(
            {"name": "PM made", "program_id": self.program.id, "create_batch": False}
        )
        manager.write(
            {"create_batch": True, "batch_tag_ids": [Command.set(self.tag_rest.ids)]}
        )

        self.assertEqual(manager.batch_tag_ids, self.tag_rest)

    def test_validators_read_but_cannot_create_managers(self):
        for user in (self.validator, self.finance):
            Manager = self.env["g2p.program.payment.manager.default"].with_user(user)
            self.assertEqual(Manager.browse(self.manager.id).name, "Test manager")
            with self.assertRaises(AccessError):
                Manager.create({"name": "nope", "program_id": self.program.id})

    def test_program_manager_prepares_payments(self):
        cycle = self.cycle.with_user(self.program_manager)

        action = cycle.prepare_payment()

        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(len(self.cycle_payments()), self.ENTITLEMENT_COUNT)

    def test_cycle_form_offers_payment_buttons_and_pages(self):
        arch = (
            self.env["g2p.cycle"]
            .with_user(self.finance)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )

        for needle in (
            'name="prepare_payment"',
            'name="send_payment"',
            'name="cycle_notebook"',
            'name="entitlements"',
            'name="payment_batches"',
        ):
            self.assertIn(needle, arch)
