"""Which manager sends a batch, and when, is decided by Send Payments only.

A batch's manager decides whose gateway account pays it; its payments decide
who is paid.  Once a batch belongs to an Mpesa manager, users cannot change
either by hand (RPC, import): another manager's credentials could pay another
program's payments.  Server code (Send, the scheduled job) writes them.
"""

import logging

from odoo import _, models
from odoo.exceptions import AccessError

_logger = logging.getLogger(__name__)

BATCH_DISPATCH_FIELDS = ("mpesa_manager_id", "mpesa_due", "mpesa_due_since")
BATCH_LINK_FIELDS = ("payment_ids",)


class G2PPaymentBatchGuard(models.Model):
    _inherit = "g2p.payment.batch"  # pylint: disable=consider-merging-classes-inherited

    def write(self, vals):
        guarded = [n for n in BATCH_DISPATCH_FIELDS + BATCH_LINK_FIELDS if n in vals]
        if guarded and not self.env.su:
            # A plain batch may still be linked as its own manager wants; an
            # Mpesa batch, or making one, is for the Send button.
            mpesa = any(n in vals for n in BATCH_DISPATCH_FIELDS) or any(
                self.sudo().mapped("mpesa_manager_id")
            )
            if mpesa:
                _logger.warning(
                    "Refused write of %s on g2p.payment.batch %s by user %s (id %s)",
                    ", ".join(guarded),
                    self.ids,
                    self.env.user.login,
                    self.env.uid,
                )
                raise AccessError(
                    _(
                        "%(fields)s of payment batches %(batches)s are set by Send "
                        "Payments, not by hand: they decide whose gateway account "
                        "pays whom. Use the cycle's Prepare and Send Payments.",
                        fields=", ".join(
                            self._fields[n].get_description(self.env)["string"]
                            for n in guarded
                        ),
                        batches=", ".join(self.sudo().mapped("name")),
                    )
                )
        return super().write(vals)
