"""What is paid is what was approved, and only the system moves a payment on.

A payment is issued with its entitlement's amount, fee, beneficiary and payee
snapshot (``const.PAYMENT_ISSUED_FIELDS``); nobody changes them afterwards,
administrators included: a correction cancels the payment and issues a new
one.  The dispatch fields of an Mpesa payment (its Mpesa and Daraja fields
and the base's outcome fields) are written by server code only: the
scheduled job, the callbacks and the buttons, which check what they do.
Every refused attempt is logged with the user, the record and the fields.
"""

import logging

from odoo import _, api, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.float_utils import float_compare

from ..mpesa import const

_logger = logging.getLogger(__name__)


def differs(record, name, value):
    """Whether writing ``value`` to ``record[name]`` would change it."""
    field = record._fields[name]
    current = field.convert_to_write(record[name], record)
    if field.type in ("float", "monetary"):
        return float_compare(current or 0.0, value or 0.0, precision_digits=6) != 0
    if isinstance(value, models.BaseModel):
        value = value.id
    return (current or False) != (value or False)


def log_refusal(record, names, how):
    _logger.warning(
        "Refused %s of %s on %s %s (id %s) by user %s (id %s)",
        how,
        ", ".join(names),
        record._name,
        record.display_name,
        record.id,
        record.env.user.login,
        record.env.uid,
    )


class G2PPaymentGuard(models.Model):
    # One model, one file per responsibility (payment.py: the Mpesa dispatch).
    _inherit = "g2p.payment"  # pylint: disable=consider-merging-classes-inherited

    def _g2p_correction_hint(self):
        """How to pay other than this payment does (each addon adds its own)."""
        if self.mpesa_state:
            return _(
                "cancel the payment with the reason (Cancel Payment, while it is "
                "queued; an in-doubt one is reconciled first), correct the "
                "entitlement, then Prepare Payments again"
            )
        other = getattr(super(), "_g2p_correction_hint", None)
        return (
            other()
            if other
            else _(
                "have the payment cancelled by its payment manager, correct the "
                "entitlement, then Prepare Payments again"
            )
        )

    def _mpesa_dispatch_field_names(self):
        return const.PAYMENT_DISPATCH_FIELDS + tuple(
            name
            for name in self._fields
            if name.startswith(("mpesa_", "daraja_")) and self._fields[name].store
        )

    @api.model_create_multi
    def create(self, vals_list):
        entitlements = self.env["g2p.entitlement"].browse(
            [vals["entitlement_id"] for vals in vals_list if vals.get("entitlement_id")]
        )
        entitlements.fetch(["initial_amount", "state"])
        for vals in vals_list:
            self._mpesa_check_issued_as_approved(vals)
        return super().create(vals_list)

    def _mpesa_check_issued_as_approved(self, vals):
        entitlement = self.env["g2p.entitlement"].browse(vals.get("entitlement_id"))
        if not entitlement:
            return  # the base refuses a payment without an entitlement
        problem = None
        if entitlement.state != const.G2P_ENTITLEMENT_APPROVED:
            problem = _("the entitlement is not approved")
        elif "amount_issued" in vals and float_compare(
            vals["amount_issued"] or 0.0, entitlement.initial_amount, precision_digits=6
        ):
            problem = _(
                "the amount %(amount)s is not the approved %(approved)s",
                amount=vals["amount_issued"],
                approved=entitlement.initial_amount,
            )
        if problem:
            log_refusal(entitlement, ["payment"], "payment create")
            raise UserError(
                _(
                    "No payment can be issued for entitlement %(entitlement)s: "
                    "%(problem)s. A payment always pays its approved entitlement; "
                    "approve the entitlement (with the amount to pay), then Prepare "
                    "Payments.",
                    entitlement=entitlement.display_name,
                    problem=problem,
                )
            )

    def write(self, vals):
        self._mpesa_check_write(vals)
        return super().write(vals)

    def onchange(self, values, field_names, fields_spec):
        # A form (or an RPC caller) editing a saved payment hears it at once.
        if self and field_names:
            self._mpesa_check_write(
                {name: values[name] for name in field_names if name in values}
            )
        return super().onchange(values, field_names, fields_spec)

    def _mpesa_check_write(self, vals):
        issued = [name for name in const.PAYMENT_ISSUED_FIELDS if name in vals]
        dispatch = (
            []
            if self.env.su
            else [name for name in self._mpesa_dispatch_field_names() if name in vals]
        )
        if dispatch and self.env.user.has_group("base.group_system"):
            dispatch = [n for n in dispatch if n not in const.PAYMENT_SCHEDULE_FIELDS]
        if issued or dispatch:
            for payment in self:
                payment._mpesa_check_frozen(vals, issued, dispatch)

    def _mpesa_check_frozen(self, vals, issued, dispatch):
        changed = [name for name in issued if differs(self, name, vals[name])]
        if "account_number" in changed and self._mpesa_first_snapshot(vals):
            changed.remove("account_number")
        if changed:
            log_refusal(self, changed, "write")
            raise UserError(
                _(
                    "Payment %(payment)s of %(partner)s cannot be changed: "
                    "%(fields)s are fixed when a payment is issued, so that what is "
                    "paid is what was approved. To pay something else, %(fix)s.",
                    payment=self.name,
                    partner=self.sudo().partner_id.display_name or "",
                    fields=self._mpesa_labels(changed),
                    fix=self._g2p_correction_hint(),
                )
            )
        if not self.mpesa_state:
            # Not an Mpesa payment: its own manager moves the base's fields.
            dispatch = [n for n in dispatch if n not in const.PAYMENT_DISPATCH_FIELDS]
        changed = [name for name in dispatch if differs(self, name, vals[name])]
        if changed:
            log_refusal(self, changed, "write")
            raise AccessError(
                _(
                    "%(fields)s of Mpesa payment %(payment)s are set by the "
                    "disbursement itself, not by hand. Use the payment's buttons "
                    "(Cancel Payment, Reconcile) or the cycle's Send Payments.",
                    payment=self.name,
                    fields=self._mpesa_labels(changed),
                )
            )

    def _mpesa_first_snapshot(self, vals):
        # The real base writes the payee snapshot right after creating the
        # payment: once, while empty, as the beneficiary's first bank account.
        bank = self.sudo().partner_id.bank_ids[:1].acc_number or False
        return not self.account_number and (vals["account_number"] or False) == bank

    def _mpesa_labels(self, names):
        return ", ".join(
            self._fields[name].get_description(self.env)["string"] for name in names
        )
