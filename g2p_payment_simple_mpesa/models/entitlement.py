"""An entitlement's terms stay those its live payment pays.

Once a payment that has not failed exists for an entitlement, its amount, fee,
beneficiary, cycle and currency are refused on write, for everyone: change
them only after cancelling the payment (its manager says how).
"""

from odoo import _, models
from odoo.exceptions import UserError

from ..mpesa import const
from .payment_guard import differs, log_refusal


class G2PEntitlementGuard(models.Model):
    _inherit = "g2p.entitlement"

    def write(self, vals):
        self._mpesa_check_terms_write(vals)
        return super().write(vals)

    def onchange(self, values, field_names, fields_spec):
        if self and field_names:
            self._mpesa_check_terms_write(
                {name: values[name] for name in field_names if name in values}
            )
        return super().onchange(values, field_names, fields_spec)

    def _mpesa_check_terms_write(self, vals):
        names = [name for name in const.ENTITLEMENT_PAID_FIELDS if name in vals]
        if names:
            for entitlement in self:
                entitlement._mpesa_check_unpaid_terms(vals, names)

    def _mpesa_check_unpaid_terms(self, vals, names):
        changed = [name for name in names if differs(self, name, vals[name])]
        if not changed:
            return
        live = self.sudo().payment_ids.filtered(
            lambda p: p.status != const.G2P_STATUS_FAILED
        )
        if not live:
            return
        log_refusal(self, changed, "write")
        raise UserError(
            _(
                "Entitlement %(entitlement)s cannot change %(fields)s: payment "
                "%(payment)s pays it as approved. To change it, %(fix)s.",
                entitlement=self.display_name,
                fields=", ".join(
                    self._fields[n].get_description(self.env)["string"] for n in changed
                ),
                payment=live[0].name,
                fix=live[0]._g2p_correction_hint(),
            )
        )
