from odoo import _, models
from odoo.exceptions import UserError

from .. import const
from .payment_guard import changed_fields, labels, refuse


class G2PEntitlement(models.Model):
    """An entitlement's terms stay those its live voucher payment carries."""

    _inherit = "g2p.entitlement"

    def write(self, vals):
        self._voucher_check_terms_write(vals)
        return super().write(vals)

    def onchange(self, values, field_names, fields_spec):
        if self and field_names:
            self._voucher_check_terms_write(
                {name: values[name] for name in field_names if name in values}
            )
        return super().onchange(values, field_names, fields_spec)

    def _voucher_check_terms_write(self, vals):
        if any(name in vals for name in const.ENTITLEMENT_PAID_FIELDS):
            for entitlement in self:
                changed = changed_fields(
                    entitlement, vals, const.ENTITLEMENT_PAID_FIELDS
                )
                live = changed and entitlement.sudo().payment_ids.filtered(
                    lambda p: p.status != const.PAYMENT_STATUS_FAILED
                )
                if live:
                    refuse(
                        entitlement,
                        changed,
                        UserError(
                            _(
                                "Entitlement %(entitlement)s cannot change "
                                "%(fields)s: payment %(payment)s pays it as "
                                "approved. To change it, %(fix)s.",
                                entitlement=entitlement.display_name,
                                fields=labels(entitlement, changed),
                                payment=live[0].name,
                                fix=live[0]._g2p_correction_hint(),
                            )
                        ),
                    )
