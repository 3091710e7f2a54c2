"""Checking and redeeming a scanned voucher code, exactly once.

A code is a voucher only if this system issued exactly that code (its digest
finds the stored code row), so a forged or altered code finds nothing.  A
redemption locks the voucher's payment row: of concurrent redemptions one
commits, and the others (retried by Odoo after the serialization failure) see
it and are refused with when and where it was redeemed.  A device that sends
the same transaction id again gets the same answer; with other content, it
is refused.  Every refusal is logged for the point's fraud review.
"""

from odoo import _, api, fields, models

from odoo.addons.g2p_payment_files.vouchers import verify

from ..redemption import const, keys

PAYMENT_PAID = "paid"
PAYMENT_FAILED = "failed"
PAYMENT_RECONCILED = "reconciled"
ENTITLEMENT_REDEEMED = "rdpd2ben"


class RedemptionRefused(Exception):
    """A check or redemption that cannot go through (answered 4xx)."""

    def __init__(self, code, http_status, message, payment=None, details=None):
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.message = message
        self.payment = payment
        self.details = details or {}

    def as_dict(self):
        return {"code": self.code, "message": self.message, **self.details}


class G2PVoucherRedemptionService(models.AbstractModel):
    _name = "g2p.voucher.redemption.service"
    _description = "Voucher Redemption Service"

    # ---------------------------------------------------------------- API
    @api.model
    def _check(self, device, code):
        """What the cashier sees before paying: payable, or why not."""
        found = self._find_voucher(device, code)
        met = self._ledger_met(device, None, found.payment)
        if met:
            raise self._already(met.record)
        return dict(self._describe(found), status=const.STATUS_PAYABLE)

    @api.model
    def _redeem(self, device, code, transaction_id):
        """Redeem ``code`` for ``device``; the answer (or RedemptionRefused)."""
        transaction_id = self._transaction_id(transaction_id)
        digest = keys.request_digest(code, transaction_id)
        found, met = self._scan(device, code, transaction_id)
        if met:
            replay = self._replayed(met, transaction_id, digest)
            return self.env["g2p.voucher.redemption"]._answer(replay, replay=True)
        found = self._judge(device, code, found)
        # Locked first: concurrent redemptions of one payment take turns.
        met = self._ledger_met(device, transaction_id, found.payment, lock=True)
        if met and met.mine:
            replay = self._replayed(met, transaction_id, digest)
            return self.env["g2p.voucher.redemption"]._answer(replay, replay=True)
        if met:
            raise self._already(met.record)
        redemption = self._record(device, found, transaction_id, digest)
        return self.env["g2p.voucher.redemption"]._answer(redemption)

    def _record(
        self,
        device,
        found,
        transaction_id,
        digest,
        when=None,
        mode=const.MODE_ONLINE,
        state=const.REDEMPTION_ACCEPTED,
        dispute_of=None,
    ):
        """One ledger row; an accepted one pays the payment and its entitlement."""
        payment = found.payment
        now = fields.Datetime.now()
        # The ledger row is the record of the redemption: no chatter message,
        # follower or tracking on each one (they cost more than the rest).
        quiet = {"tracking_disable": True, "mail_create_nosubscribe": True}
        redemption = (
            self.env["g2p.voucher.redemption"]
            .sudo()
            .with_context(**quiet)
            .create(
                {
                    "voucher_id": found.voucher.id,
                    "payment_id": payment.id,
                    "point_id": device.point_id.id,
                    "device_id": device.id,
                    "user_id": self.env.uid,
                    "transaction_id": transaction_id,
                    "request_digest": digest,
                    "amount": found.amount,
                    "currency_id": self._currency(payment).id,
                    "redeemed_at": when or now,
                    "mode": mode,
                    "synced_at": now if mode == const.MODE_OFFLINE else False,
                    "state": state,
                    "dispute_of_id": dispute_of.id if dispute_of else False,
                }
            )
        )
        if state == const.REDEMPTION_ACCEPTED:
            self._pay(payment, when or now, now)
            self.env["g2p.entitlement"].sudo().browse(
                found.entitlement_id
            ).with_context(**quiet).write({"state": ENTITLEMENT_REDEEMED})
        return redemption

    def _pay(self, payment, paid_at, now):
        """The payment is paid: its issued amount, now, reconciled.

        One UPDATE in SQL, then what depends on these fields is told, as the
        ORM's write would: through the ORM this write costs a tenth of a
        redemption (the currency is fetched to round an amount that is
        already rounded).  No officer's write: the payment guards let server
        code set these fields anyway.
        """
        names = [
            "status",
            "status_is_final",
            "status_datetime",
            "amount_paid",
            "payment_datetime",
            "state",
        ]
        payment.flush_recordset()
        self.env.cr.execute(
            "UPDATE g2p_payment SET status = %s, status_is_final = TRUE, "
            "status_datetime = %s, amount_paid = amount_issued, "
            "payment_datetime = %s, state = %s, write_uid = %s, write_date = %s "
            "WHERE id = %s",
            (PAYMENT_PAID, now, paid_at, PAYMENT_RECONCILED)
            + (self.env.uid, now, payment.id),
        )
        payment.invalidate_recordset([*names, "write_uid", "write_date"])
        payment.modified(names)

    @staticmethod
    def _currency(payment):
        """The payment's currency, fetching only the fields on the way to it.

        A related field on the real base (its journal's currency): reading it
        plainly would fetch every field of the payment and of the journal.
        """
        record, field = payment, payment._fields["currency_id"]
        path = "currency_id" if field.store or not field.related else field.related
        for name in path.split(".") if isinstance(path, str) else path:
            record.fetch([name])
            record = record[name]
        return record

    def _transaction_id(self, transaction_id):
        transaction_id = (transaction_id or "").strip()
        if not transaction_id or len(transaction_id) > const.MAX_TXN_ID_LENGTH:
            raise RedemptionRefused(
                const.ERR_BAD_REQUEST,
                422,
                _(
                    "transaction_id is required (1 to %(max)s characters).",
                    max=const.MAX_TXN_ID_LENGTH,
                ),
            )
        return transaction_id

    @staticmethod
    def _device_time(value):
        """When an offline point says it paid (never later than now)."""
        now = fields.Datetime.now()
        if not value:
            return now
        try:
            when = fields.Datetime.to_datetime(str(value).replace("T", " ")[:19])
        except ValueError:
            when = None
        if when is None:
            raise RedemptionRefused(
                const.ERR_BAD_REQUEST,
                422,
                _(
                    "redeemed_at %(value)r is not a date and time.",
                    value=str(value)[:40],
                ),
            )
        return min(when, now)

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _replayed(met, transaction_id, digest):
        if met.digest != digest:
            raise RedemptionRefused(
                const.ERR_TXN_REUSED,
                409,
                _(
                    "Transaction %(txn)s was already used for another voucher on "
                    "this device; use a new transaction id.",
                    txn=transaction_id,
                ),
            )
        return met.record

    def _already(self, prior):
        when = fields.Datetime.to_string(prior.redeemed_at)
        return RedemptionRefused(
            const.ERR_ALREADY_REDEEMED,
            409,
            _(
                "Already paid: this voucher was redeemed on %(when)s at %(point)s. "
                "Do not pay it again.",
                when=when,
                point=prior.point_id.name,
            ),
            payment=prior.payment_id,
            details={"redeemed_at": when, "point": prior.point_id.name},
        )

    def _find_voucher(self, device, code, at=None, offline=False):
        """The voucher ``code`` is (a ``Found``), payable at ``device``'s point."""
        found, _met = self._scan(device, code)
        return self._judge(device, code, found, at=at, offline=offline)

    def _scan(self, device, code, transaction_id=None):
        """(``Found`` or None, the device's earlier redemption of
        ``transaction_id`` or None) for a scanned code; refused if malformed."""
        code = (code or "").strip()
        if not code or len(code) > const.MAX_CODE_LENGTH:
            raise RedemptionRefused(
                const.ERR_BAD_REQUEST,
                422,
                _(
                    "code is required (the scanned text, at most %(max)s characters).",
                    max=const.MAX_CODE_LENGTH,
                ),
            )
        return self._lookup_voucher(device, code, transaction_id)

    def _judge(self, device, code, found, at=None, offline=False):
        """``found`` if payable at ``device``'s point, else RedemptionRefused.

        ``at``: when it was paid (offline: expiry is judged then); ``offline``:
        a cancelled voucher already paid out is a dispute, not a refusal.
        """
        if not found:
            if verify.looks_like_jwt((code or "").strip()):
                raise RedemptionRefused(
                    const.ERR_FORGED,
                    404,
                    _(
                        "This code was not issued by the program: it may be forged "
                        "or altered. Do not pay; keep the voucher for the officer."
                    ),
                )
            raise RedemptionRefused(
                const.ERR_UNKNOWN,
                404,
                _("Unknown voucher: no voucher was issued with this code. Do not pay."),
            )
        payment = found.payment
        if not found.serves:
            raise RedemptionRefused(
                const.ERR_NOT_FOR_POINT,
                403,
                _(
                    "This voucher is for program %(program)s, which %(point)s does "
                    "not serve. Send the beneficiary to a point of that program.",
                    program=payment.program_id.name,
                    point=device.point_id.name,
                ),
                payment=payment,
            )
        replaced = found.issue != found.current_issue
        if (replaced or found.cancelled) and not offline:
            raise RedemptionRefused(
                const.ERR_CANCELLED,
                410,
                _("This voucher was replaced by a newer one. Do not pay.")
                if replaced
                else _("This voucher was cancelled. Do not pay."),
                payment=payment,
            )
        if found.status == PAYMENT_FAILED and not offline:
            raise RedemptionRefused(
                const.ERR_CANCELLED,
                410,
                _("This voucher was cancelled. Do not pay."),
                payment=payment,
            )
        if found.expires and found.expires < (at or fields.Datetime.now()):
            raise RedemptionRefused(
                const.ERR_EXPIRED,
                410,
                _(
                    "This voucher expired on %(when)s. Do not pay.",
                    when=fields.Datetime.to_string(found.expires),
                ),
                payment=payment,
            )
        return found

    def _describe(self, found):
        payment = found.payment
        return {
            "payment": payment.name,
            "beneficiary": payment.partner_id.name,
            "amount": payment.amount_issued,
            "currency": payment.currency_id.name or None,
            "program": payment.program_id.name,
            "expires_at": fields.Datetime.to_string(found.expires)
            if found.expires
            else None,
        }

    @api.model
    def _log_refusal(self, device, action, refusal, code=None, transaction_id=None):
        self.env["g2p.voucher.redemption.refusal"].sudo().create(
            {
                "point_id": device.point_id.id if device else False,
                "device_id": device.id if device else False,
                "action": action,
                "error_code": refusal.code,
                "message": refusal.message[:250],
                "code_digest": keys.code_digest(code) if code else False,
                "transaction_id": (transaction_id or "")[:64] or False,
                "payment_id": refusal.payment.id if refusal.payment else False,
            }
        )
