from lxml import etree

from odoo.tests import new_test_user, tagged

from .common import FilePaymentCase

_MODELS = (
    "g2p.payment.file.config",
    "g2p.payment.file.qrcode.config",
    "g2p.program.payment.manager.file",
    "g2p.crypto.key.set",
    "g2p.payment.batch.tag",
    "g2p.payment",
    "g2p.payment.batch",
    "g2p.cycle",
)


@tagged("post_install", "-at_install")
class TestViews(FilePaymentCase):
    def test_forms_and_lists_load_for_program_managers_and_validators(self):
        users = (
            new_test_user(
                self.env,
                login="h5_views_pm",
                groups="base.group_user,g2p_programs.g2p_program_manager",
            ),
            new_test_user(
                self.env,
                login="h5_views_validator",
                groups="base.group_user,g2p_programs.g2p_program_validator",
            ),
        )
        for user in users:
            for model in _MODELS:
                views = (
                    self.env[model]
                    .with_user(user)
                    .get_views([(False, "list"), (False, "form"), (False, "search")])
                )
                for view in views["views"].values():
                    self.assertNotIn(
                        'name="priv_key"', view["arch"], (user.login, model)
                    )

    def test_file_pages_are_on_payment_batch_and_cycle_forms(self):
        for model in ("g2p.payment", "g2p.payment.batch", "g2p.cycle"):
            arch = self.env[model].get_views([(False, "form")])["views"]["form"]["arch"]
            self.assertIn('name="payment_file_ids"', arch, model)
        arch = self.env["g2p.program.payment.manager.file"].get_views(
            [(False, "form")]
        )["views"]["form"]["arch"]
        for name in ("action_rotate_key", "crypto_key_set", "file_document_store"):
            self.assertIn(name, arch)

    def test_menus_are_where_upstream_put_them(self):
        menu_files = self.env.ref("g2p_payment_files.menu_payment_manager_file")
        self.assertEqual(
            menu_files.parent_id, self.env.ref("g2p_programs.g2p_manager_menu_root")
        )
        menu_configs = self.env.ref("g2p_payment_files.menu_payment_file_configs")
        self.assertEqual(
            menu_configs.parent_id,
            self.env.ref("g2p_programs.g2p_program_configuration_menu_root"),
        )
        selection = dict(
            self.env["g2p.program.payment.manager"]._selection_manager_ref_id()
        )
        self.assertEqual(
            selection["g2p.program.payment.manager.file"], "File Payment Manager"
        )

    def test_voucher_file_lists_are_read_only_for_officers(self):
        officer = new_test_user(
            self.env,
            login="h5_views_ro_officer",
            groups="base.group_user,g2p_programs.g2p_program_manager",
        )
        for model in ("g2p.payment", "g2p.payment.batch", "g2p.cycle"):
            arch = (
                self.env[model]
                .with_user(officer)
                .get_views([(False, "form")])["views"]["form"]["arch"]
            )
            fields_ = etree.fromstring(arch).xpath("//field[@name='payment_file_ids']")
            self.assertTrue(fields_, model)
            for field in fields_:
                self.assertIn(field.get("readonly"), ("1", "True", "true"), model)


@tagged("post_install", "-at_install")
class TestVoucherCycleButtons(FilePaymentCase):
    """A voucher manager never sends: Send Payments is hidden where it would
    only answer with an error, and empty file tables are not shown."""

    def _form(self, model):
        arch = self.env[model].get_views([(False, "form")])["views"]["form"]["arch"]
        return etree.fromstring(arch)

    def test_cycle_and_batch_of_a_voucher_manager_hide_send_payments(self):
        self.assertTrue(self.cycle.voucher_by_files)
        for model in ("g2p.cycle", "g2p.payment.batch"):
            [button] = self._form(model).xpath("//header/button[@name='send_payment']")
            self.assertIn("voucher_by_files", button.get("invisible"), model)
        self.cycle.prepare_payment()
        batches = self.env["g2p.payment.batch"].search(
            [("cycle_id", "=", self.cycle.id)]
        )
        self.assertTrue(all(batches.mapped("voucher_by_files")))

    def test_cycle_of_another_manager_keeps_send_payments(self):
        other = self.env["g2p.program"].create({"name": "No voucher program"})
        cycle = self.env["g2p.cycle"].create(
            {
                "name": "Other cycle",
                "program_id": other.id,
                "start_date": self.cycle.start_date,
                "end_date": self.cycle.end_date,
            }
        )
        self.assertFalse(cycle.voucher_by_files)

    def test_voucher_payment_hides_the_real_base_send_payment(self):
        form = self._form("g2p.payment")
        buttons = form.xpath("//header/button[@name='send_payment']")
        for button in buttons:  # only the real base has one
            self.assertIn("voucher_by_files", button.get("invisible"))
        [span] = form.xpath("//header/span[@name='voucher_header_end']")
        self.assertEqual(
            span.get("invisible"), "1" if buttons else "1 or voucher_by_files"
        )
        self.cycle.prepare_payment()
        payment = self.env["g2p.payment"].search([("cycle_id", "=", self.cycle.id)])[:1]
        self.assertTrue(payment.voucher_by_files)

    def test_payment_files_group_is_hidden_while_empty(self):
        [group] = self._form("g2p.payment").xpath("//group[@name='files']")
        self.assertEqual(
            group.get("invisible"), "not payment_file_ids and not qrcode_ids"
        )
