"""Cancel a lost or stolen voucher, and reissue a new one for the same payment.

Only the newest voucher of a payment is redeemable: each code row records the
issue it belongs to and the status list entry it carries, a cancelled or
replaced issue's entry reads INVALID, and the redemption service refuses its
codes.  Vouchers issued before this addon are issue 1 of their payment.
"""

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..redemption import const

VOUCHER_OFFICERS = (
    "g2p_programs.g2p_program_manager",
    "g2p_programs.g2p_finance_validator",
    "g2p_registry_base.group_g2p_admin",
)


class G2PPaymentVoucherIssue(models.Model):
    _inherit = "g2p.payment"  # pylint: disable=consider-merging-classes-inherited

    voucher_issue = fields.Integer(
        default=1,
        readonly=True,
        copy=False,
        help="Which voucher of this payment is the valid one (a reissue adds one).",
    )
    voucher_cancelled = fields.Boolean(readonly=True, copy=False)
    voucher_cancel_reason = fields.Text(readonly=True, copy=False)

    def _voucher_check_officer(self):
        if not any(self.env.user.has_group(g) for g in VOUCHER_OFFICERS):
            raise UserError(
                _(
                    "Only program managers, finance validators and administrators "
                    "cancel or reissue vouchers."
                )
            )

    def _voucher_redemption(self):
        return self.redemption_ids.filtered(
            lambda r: r.state == const.REDEMPTION_ACCEPTED
        )[:1]

    def _voucher_cancel(self, reason):
        """Cancel the current voucher of each payment (lost, stolen...)."""
        self._voucher_check_officer()
        reason = (reason or "").strip()
        if len(reason) < 5:
            raise UserError(_("Say why the voucher is cancelled (a few words)."))
        for payment in self:
            redeemed = payment._voucher_redemption()
            if redeemed:
                raise UserError(
                    _(
                        "The voucher of payment %(payment)s was already redeemed on "
                        "%(when)s at %(point)s: it cannot be cancelled.",
                        payment=payment.name,
                        when=fields.Datetime.to_string(redeemed.redeemed_at),
                        point=redeemed.point_id.name,
                    )
                )
            payment.sudo().write(
                {"voucher_cancelled": True, "voucher_cancel_reason": reason}
            )
            payment.cycle_id.sudo().message_post(
                body=_(
                    "%(user)s cancelled voucher %(issue)s of payment %(payment)s "
                    "(%(partner)s): %(reason)s",
                    user=self.env.user.name,
                    issue=payment.voucher_issue,
                    payment=payment.name,
                    partner=payment.partner_id.name,
                    reason=reason,
                )
            )

    def action_voucher_reissue(self):
        """A new signed voucher for each cancelled one; the old stays invalid."""
        self._voucher_check_officer()
        for payment in self:
            if not payment.voucher_cancelled:
                raise UserError(
                    _(
                        "The voucher of payment %(payment)s is not cancelled: cancel "
                        "it first (with the reason), then reissue.",
                        payment=payment.name,
                    )
                )
            manager = payment.program_id.sudo().payment_managers[:1].manager_ref_id
            if not manager or manager._name != "g2p.program.payment.manager.file":
                raise UserError(
                    _(
                        "Payment %(payment)s is not paid by vouchers of a file payment "
                        "manager.",
                        payment=payment.name,
                    )
                )
            old_codes = payment.qrcode_ids
            payment.sudo().write(
                {
                    "voucher_issue": payment.voucher_issue + 1,
                    "voucher_cancelled": False,
                    "voucher_status_idx": False,
                }
            )
            manager._render_one_payment_vouchers(payment)
            old_texts = set(old_codes.mapped("data"))
            issue = payment.voucher_issue
            same = payment.qrcode_ids.filtered(
                lambda q, issue=issue, old=old_texts: (
                    q.voucher_issue == issue and q.data in old
                )
            )
            payment.cycle_id.sudo().message_post(
                body=_(
                    "%(user)s reissued the voucher of payment %(payment)s (issue "
                    "%(issue)s).",
                    user=self.env.user.name,
                    payment=payment.name,
                    issue=payment.voucher_issue,
                )
                + (
                    " "
                    + _(
                        "Codes %(codes)s print the same text on every issue, so the "
                        "old paper still shows a valid one: print the issue in "
                        "their template (object.voucher_issue).",
                        codes=", ".join(same.qrcode_config_id.mapped("name")),
                    )
                    if same
                    else ""
                )
            )
        return True
