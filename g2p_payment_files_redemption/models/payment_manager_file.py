from odoo import _, fields, models
from odoo.exceptions import UserError


class G2PPaymentManagerFile(models.Model):
    _inherit = "g2p.program.payment.manager.file"

    def _render_one_payment_vouchers(self, payment):
        """Codes and files of one payment's new voucher, as Prepare renders them."""
        self.ensure_one()
        if self.create_batch:
            tag = payment.batch_id.tag_id
            configs = tag.file_config_ids if tag.render_files_per_payment else False
        else:
            configs = self.payment_file_config_ids
        if not configs:
            raise UserError(
                _(
                    "Payment %(payment)s has no voucher of its own (its batch prints "
                    "one voucher per batch): it cannot be reissued alone.",
                    payment=payment.name,
                )
            )
        key_set = self._get_signing_key(configs)
        signer = key_set._get_signer() if key_set else None
        store = self._get_file_document_store().sudo()
        self._render_slice(
            configs, payment, "payment_id", (signer, fields.Datetime.now()), store, {}
        )
