"""A voucher says what was approved: its payment's terms never change.

The amount, fee, beneficiary and payee snapshot of a payment are those of its
approved entitlement when it is issued, and its signed voucher carries them;
they are refused afterwards for everyone, administrators included.  Its
voucher links are made by the prepare run (server code) only.  Every refused
attempt is logged with the user, the record and the fields.
"""

import logging

from odoo import _, api, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.float_utils import float_compare

from .. import const

_logger = logging.getLogger(__name__)


def changed_fields(record, vals, names):
    """The fields of ``names`` that ``vals`` would give another value."""
    found = []
    for name in names:
        if name not in vals:
            continue
        field = record._fields[name]
        old = field.convert_to_write(record[name], record)
        new = vals[name]
        if field.type in ("float", "monetary"):
            differ = float_compare(old or 0.0, new or 0.0, precision_digits=6) != 0
        elif field.type in ("one2many", "many2many"):
            differ = True  # commands: any of them changes the links
        else:
            differ = (old or False) != (getattr(new, "id", new) or False)
        if differ:
            found.append(name)
    return found


def refuse(record, names, error):
    """Log the refused change for review, then raise ``error``."""
    _logger.warning(
        "Refused change of %s on %s %r (id %s) by user %s (id %s)",
        ", ".join(names),
        record._name,
        record.display_name,
        record.id,
        record.env.user.login,
        record.env.uid,
    )
    raise error


def first_snapshot(payment, vals):
    """Whether ``vals`` only takes the payee snapshot the base takes at issue.

    The real base writes ``account_number`` right after creating a payment:
    allowed once, while empty, and only as the beneficiary's first account.
    """
    value = vals.get("account_number") or False
    bank = payment.sudo().partner_id.bank_ids[:1].acc_number or False
    return not payment.account_number and value == bank


def labels(record, names):
    return ", ".join(
        record._fields[n].get_description(record.env)["string"] for n in names
    )


class G2PPaymentVoucherGuard(models.Model):
    _inherit = "g2p.payment"  # pylint: disable=consider-merging-classes-inherited

    def _g2p_correction_hint(self):
        """How to pay other than this payment does (each addon adds its own)."""
        if self.qrcode_ids or self.payment_file_ids:
            return _(
                "cancel its voucher with the reason and issue a new one for the "
                "corrected entitlement"
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

    @api.model_create_multi
    def create(self, vals_list):
        Entitlement = self.env["g2p.entitlement"]
        # One read for all: chunk jobs issue hundreds of payments per create.
        Entitlement.browse(
            [v["entitlement_id"] for v in vals_list if v.get("entitlement_id")]
        ).fetch(["initial_amount", "state"])
        for vals in vals_list:
            entitlement = Entitlement.browse(vals.get("entitlement_id"))
            if not entitlement:
                continue  # the base requires one
            approved = entitlement.state == const.ENTITLEMENT_STATE_APPROVED
            amount = vals.get("amount_issued", entitlement.initial_amount) or 0.0
            if approved and not float_compare(
                amount, entitlement.initial_amount, precision_digits=6
            ):
                continue
            refuse(
                entitlement,
                ["payment"],
                UserError(
                    _(
                        "Entitlement %(entitlement)s cannot be paid %(amount)s: a "
                        "payment pays the approved amount of an approved entitlement "
                        "(%(approved)s, state %(state)s). Approve the entitlement with "
                        "the amount to pay, then Prepare Payments.",
                        entitlement=entitlement.display_name,
                        amount=amount,
                        approved=entitlement.initial_amount,
                        state=entitlement.state,
                    )
                ),
            )
        return super().create(vals_list)

    def write(self, vals):
        self._voucher_check_write(vals)
        return super().write(vals)

    def onchange(self, values, field_names, fields_spec):
        # A form (or an RPC caller) editing a saved payment hears it at once.
        if self and field_names:
            self._voucher_check_write(
                {name: values[name] for name in field_names if name in values}
            )
        return super().onchange(values, field_names, fields_spec)

    def _voucher_check_write(self, vals):
        for payment in self:
            issued = changed_fields(payment, vals, const.PAYMENT_ISSUED_FIELDS)
            if "account_number" in issued and first_snapshot(payment, vals):
                issued.remove("account_number")
            if issued:
                refuse(
                    payment,
                    issued,
                    UserError(
                        _(
                            "Payment %(payment)s of %(partner)s cannot be changed: "
                            "%(fields)s are fixed when a payment is issued, so that "
                            "what is paid is what was approved. To pay something "
                            "else, %(fix)s.",
                            payment=payment.name,
                            partner=payment.sudo().partner_id.display_name or "",
                            fields=labels(payment, issued),
                            fix=payment._g2p_correction_hint(),
                        )
                    ),
                )
            links = (
                []
                if self.env.su
                else changed_fields(payment, vals, const.PAYMENT_VOUCHER_FIELDS)
            )
            if links:
                refuse(
                    payment,
                    links,
                    AccessError(
                        _(
                            "%(fields)s of payment %(payment)s are made by Prepare "
                            "Payments, not by hand; preview or print its vouchers "
                            "from the cycle instead.",
                            payment=payment.name,
                            fields=labels(payment, links),
                        )
                    ),
                )
