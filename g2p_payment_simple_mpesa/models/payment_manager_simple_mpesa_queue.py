"""Checks before Prepare, and Send: it only queues work for the cron.

Send runs the same way whether the base calls it in the request or, for
large cycles, inside a queue_job (the cycle is locked meanwhile and unlocked
by the base's ``mark_job_as_done``); Prepare is in
``payment_manager_simple_mpesa_prepare``.  Configuration problems are raised
before the base may go asynchronous, so the officer sees them on the click
and the cycle is never left locked by them.
"""

import ast

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..mpesa import const


def _is_catch_all(domain):
    """Whether a batch tag domain (text) matches every entitlement."""
    try:
        return ast.literal_eval((domain or "").strip()) == []
    except (ValueError, SyntaxError):
        return False


class G2PPaymentManagerSimpleMpesaQueue(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------- checks
    def _mpesa_check_dispatchable(self):
        """Refuse a set-up where prepared payments would never be sent.

        Only batched payments are queued for the gateway, and the base pays
        only entitlements matched by a batch tag: without batches, without
        tags, or without a catch-all last tag, someone would be left out
        without anybody noticing.
        """
        for manager in self:
            tags = manager.batch_tag_ids.sorted(lambda t: (t.order, t.id))
            if not manager.create_batch:
                problem = _(
                    "it does not create batches, and only batched payments are "
                    "sent to Mpesa"
                )
                fix = _("tick Automatically Create Batch")
            elif not tags:
                problem = _("it has no batch tags, so nobody would be paid")
                fix = _("add a batch tag with the domain []")
            elif tags.filtered(lambda t: t.max_batch_size < 1):
                tag = tags.filtered(lambda t: t.max_batch_size < 1)[0]
                problem = _(
                    "its batch tag %(tag)s has the maximum batch size %(size)s",
                    tag=tag.name,
                    size=tag.max_batch_size,
                )
                fix = _("set the maximum batch size of that tag to 1 or more")
            elif not _is_catch_all(tags[-1].domain):
                problem = _(
                    "its last batch tag %(tag)s has the domain %(domain)s, so "
                    "beneficiaries it does not match would not be paid",
                    tag=tags[-1].name,
                    domain=tags[-1].domain,
                )
                fix = _("set the domain of the last batch tag to []")
            else:
                continue
            raise UserError(
                _(
                    "Payment manager %(manager)s cannot prepare payments: "
                    "%(problem)s. To fix it, %(fix)s on the payment manager form.",
                    manager=manager.name,
                    problem=problem,
                    fix=fix,
                )
            )

    def _mpesa_check_batch_owner(self, batches):
        self.ensure_one()
        for batch in batches:
            if batch.mpesa_manager_id and batch.mpesa_manager_id != self:
                raise UserError(
                    _(
                        "Batch %(batch)s belongs to payment manager %(other)s, not "
                        "%(manager)s.",
                        batch=batch.name,
                        other=batch.mpesa_manager_id.name,
                        manager=self.name,
                    )
                )

    # ---------------------------------------------------------------- send
    def _mpesa_queue_batches(self, batches):
        """Mark batches due (sent for disbursement) and queue their payments."""
        self.ensure_one()
        batches = batches.filtered(lambda b: not b.batch_has_completed)
        self._mpesa_check_batch_owner(batches)
        new = batches.mapped("payment_ids").filtered(
            lambda p: (
                not p.mpesa_state
                and p.state == const.G2P_STATE_ISSUED
                and p.status != const.G2P_STATUS_PAID
            )
        )
        # Server code after the checks above: users cannot write dispatch fields.
        new.sudo().write({"mpesa_state": const.QUEUED})
        batches.filtered(lambda b: not b.mpesa_due).sudo().write(
            {
                "mpesa_manager_id": self.id,
                "mpesa_due": True,
                "mpesa_due_since": fields.Datetime.now(),
            }
        )
        return batches

    def send_payments(self, batches):
        # Checked here, before the base may hand the work to a queue_job.
        self.ensure_one()
        if batches:
            self._mpesa_check_config()
            self._mpesa_check_batch_owner(
                batches.filtered(lambda b: not b.batch_has_completed)
            )
        return super().send_payments(batches)

    def _send_payments(self, batches):
        """Queue the batches for the scheduled job; never sends in the request."""
        self.ensure_one()
        if not batches:
            return self._mpesa_notification(
                _("No payment batches to process."),
                kind=const.NOTIFY_WARNING,
                sticky=True,
            )
        self._mpesa_check_config()
        queued = self._mpesa_queue_batches(batches)
        if not queued:
            return self._mpesa_notification(
                _("All %(count)s batches are already completed.", count=len(batches)),
                kind=const.NOTIFY_INFO,
            )
        pending = queued.mapped("payment_ids").filtered(
            lambda p: p.mpesa_state in (const.QUEUED, const.SENDING)
        )
        self._mpesa_trigger_cron()
        self._mpesa_post(
            _(
                "%(user)s sent %(batches)s batches (%(payments)s payments) for "
                "disbursement.",
                user=self.env.user.name,
                batches=len(queued),
                payments=len(pending),
            )
        )
        return self._mpesa_notification(
            _(
                "%(batches)s batches with %(payments)s payments are queued for "
                "disbursement. They are sent in the background; follow the progress "
                "on the batches.",
                batches=len(queued),
                payments=len(pending),
            ),
            kind=const.NOTIFY_SUCCESS,
            sticky=True,
        )
