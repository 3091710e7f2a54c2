"""Payee account and amount of one payment, as the gateway expects them.

Every problem is raised as a PayeeError/AmountError whose message tells a
program officer what to correct on the registrant.
"""

from odoo import _, api, models
from odoo.exceptions import UserError

from ..mpesa import const, payee
from ..mpesa.errors import AmountError, PayeeError


class G2PPaymentManagerSimpleMpesaPayee(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    def _mpesa_payee_account(self, payment):
        """Account number to send for ``payment``.

        Raises PayeeError with a message a program officer can act on.
        """
        self.ensure_one()
        partner = payment.partner_id
        kind = self.payee_id_type
        raw = None
        missing = None
        if kind == const.PAYEE_BANK_ACC_NO:
            raw = (
                payment.account_number
                or partner.bank_ids.filtered("acc_number")[:1].acc_number
            )
            missing = _("has no bank account number")
        elif kind == const.PAYEE_BANK_ACC_IBAN:
            raw = self._mpesa_partner_iban(partner)
            missing = _("has no bank account with an IBAN")
        elif kind == const.PAYEE_PHONE:
            raw = partner.phone or partner.mobile
            missing = _("has no phone number")
        elif kind == const.PAYEE_EMAIL:
            raw = partner.email
            missing = _("has no e-mail address")
        elif kind == const.PAYEE_REG_ID:
            id_type = self.reg_id_type_for_payee_id
            raw = partner.reg_ids.filtered(lambda r: r.id_type == id_type and r.value)[
                :1
            ].value
            missing = _(
                "has no registrant ID of type %(type)s", type=id_type.name or "?"
            )
        if not raw or not str(raw).strip():
            raise PayeeError(
                _(
                    "Beneficiary %(partner)s %(missing)s, which this payment manager "
                    "pays to. Add it on the registrant, then prepare the payment "
                    "again.",
                    partner=partner.display_name,
                    missing=missing,
                )
            )
        try:
            return payee.account_for(kind, raw)
        except PayeeError as exc:
            raise PayeeError(
                _(
                    "Beneficiary %(partner)s: %(problem)s Correct it on the "
                    "registrant, "
                    "then prepare the payment again.",
                    partner=partner.display_name,
                    problem=str(exc),
                )
            ) from None

    @api.model
    def _mpesa_partner_iban(self, partner):
        """First IBAN of the partner's bank accounts.

        OpenG2P computes the IBAN from the bank's country and BIC and the
        account number, and the computation raises on bad bank data: that is
        a payee error, read one account at a time so that another
        beneficiary's bad data never blocks this one.
        """
        for bank in partner.bank_ids:
            try:
                iban = bank.with_prefetch().iban
            except Exception as exc:  # any error of the IBAN computation
                raise PayeeError(
                    _(
                        "Beneficiary %(partner)s: no IBAN can be formed from bank "
                        "account %(account)s (%(problem)s). Correct the bank and the "
                        "account number on the registrant, then prepare the payment "
                        "again.",
                        partner=partner.display_name,
                        account=bank.acc_number or "?",
                        problem=str(exc) or type(exc).__name__,
                    )
                ) from None
            if iban:
                return iban
        return None

    def _mpesa_whole_amount(self, payment):
        try:
            return payee.whole_amount(payment.amount_issued)
        except AmountError as exc:
            raise AmountError(
                _(
                    "Payment %(name)s: %(problem)s",
                    name=payment.name,
                    problem=str(exc),
                )
            ) from None

    # -------------------------------------------- payee settings in flight
    def write(self, vals):
        changing = [name for name in const.PAYEE_SETTINGS if name in vals]
        if changing:
            for manager in self:
                manager._mpesa_check_payee_settings_free(vals, changing)
        return super().write(vals)

    def _mpesa_check_payee_settings_free(self, vals, names):
        """Payments on their way keep the payee these settings chose for them."""
        field_values = {
            n: self._fields[n].convert_to_write(self[n], self) for n in names
        }
        changed = [n for n in names if (vals[n] or False) != (field_values[n] or False)]
        if not changed:
            return
        in_flight = (
            self.env["g2p.payment"]
            .sudo()
            .search_count(
                [
                    ("batch_id.mpesa_manager_id", "=", self.id),
                    ("mpesa_state", "not in", list(const.FINAL_STATES)),
                    ("mpesa_state", "!=", False),
                ]
            )
        )
        if in_flight:
            raise UserError(
                _(
                    "%(fields)s of payment manager %(manager)s cannot change while "
                    "%(count)s of its payments are on their way (queued, sending, "
                    "awaiting a result or in doubt): they pay the beneficiaries' "
                    "accounts these settings chose. Change it once they are paid "
                    "or failed, or cancel the queued ones first.",
                    fields=", ".join(
                        self._fields[n].get_description(self.env)["string"]
                        for n in changed
                    ),
                    manager=self.name,
                    count=in_flight,
                )
            )
