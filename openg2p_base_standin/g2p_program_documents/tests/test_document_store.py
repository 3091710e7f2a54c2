import base64

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDocumentStore(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.store = cls.env["storage.backend"].create({"name": "Vouchers"})

    def test_add_file_stores_bytes_that_read_back(self):
        content = b"%PDF-1.4\n\x00\xff binary voucher"

        stored = self.store.add_file(content, name="voucher-1", extension=".pdf")

        stored.invalidate_recordset()
        self.assertEqual(stored.name, "voucher-1.pdf")
        self.assertEqual(stored.backend_id, self.store)
        self.assertEqual(stored.get_content(), content)
        self.assertEqual(base64.b64decode(stored.data), content)
        self.assertEqual(stored.file_size, len(content))
        self.assertEqual(stored.mimetype, "application/pdf")
        self.assertIn("/web/content/storage.file/%s/data" % stored.id, stored.url)
        self.assertEqual(self.store.file_count, 1)

    def test_add_file_accepts_text_and_generates_name(self):
        stored = self.store.add_file("a,b\n1,2\n", extension="csv")

        self.assertTrue(stored.name.endswith(".csv"))
        self.assertEqual(len(stored.name), 36 + 4)
        self.assertEqual(stored.get_content(), b"a,b\n1,2\n")
        self.assertEqual(stored.mimetype, "text/csv")

    def test_add_file_links_record(self):
        program = self.env["g2p.program"].create(
            {"name": "Docs program", "supporting_documents_store": self.store.id}
        )

        stored = self.store.add_file(b"x", res_model="g2p.program", res_id=program.id)

        self.assertEqual((stored.res_model, stored.res_id), ("g2p.program", program.id))
        self.assertEqual(program.supporting_documents_store, self.store)

    def test_add_files_stores_many_in_order(self):
        items = [
            {"data": b"file %d" % i, "name": "f%d" % i, "extension": ".txt"}
            for i in range(5)
        ]

        stored = self.store.add_files(items)

        self.assertEqual(stored.mapped("name"), ["f%d.txt" % i for i in range(5)])
        self.assertEqual(
            [f.get_content() for f in stored], [b"file %d" % i for i in range(5)]
        )

    def test_add_file_without_data_names_the_store(self):
        with self.assertRaisesRegex(UserError, "Vouchers"):
            self.store.add_file(None)
