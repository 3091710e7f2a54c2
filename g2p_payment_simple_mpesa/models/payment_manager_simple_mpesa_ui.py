"""Buttons of the manager form: they return actions and notifications."""

import time

from odoo import _, models

from ..mpesa import const
from ..mpesa.run import RunSummary


class G2PPaymentManagerSimpleMpesaUi(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    def _mpesa_notification(
        self, message, kind=const.NOTIFY_INFO, sticky=False, title=None
    ):
        """The display_notification action returned by our buttons."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title or _("Mpesa payments"),
                "message": message,
                "sticky": sticky,
                "type": kind,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_open_in_doubt_payments(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_payment"
        )
        action["domain"] = [
            ("batch_id.mpesa_manager_id", "=", self.id),
            ("mpesa_state", "=", const.IN_DOUBT),
        ]
        action["context"] = {}
        return action

    def action_open_mpesa_batches(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_payment_batch"
        )
        action["domain"] = [("mpesa_manager_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_disburse_now(self):
        """Run one bounded disbursement pass for this manager in the request."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        # A person waits for this answer: a shorter budget than the cron's.
        budget = min(self._mpesa_time_budget(), const.UI_BUDGET_MAX)
        deadline = time.monotonic() + budget
        summary = RunSummary.of(
            manager.sudo()._mpesa_disburse(deadline) for manager in self
        )
        counts = summary.counts
        message = _(
            "%(paid)s paid, %(failed)s failed, %(queued)s to retry later, %(doubt)s in "
            "doubt.",
            paid=counts[const.PAID],
            failed=counts[const.FAILED],
            queued=counts[const.QUEUED],
            doubt=counts[const.IN_DOUBT],
        )
        if summary.busy:
            message += " " + _(
                "Another worker is sending for this agent; try again later."
            )
        if summary.problems:
            message += " " + _(
                "Stopped: %(problem)s", problem="; ".join(summary.problems)
            )
        if summary.more:
            self._mpesa_trigger_cron()
        if summary.problems:
            kind = const.NOTIFY_DANGER
        elif counts[const.IN_DOUBT]:
            kind = const.NOTIFY_WARNING
        else:
            kind = const.NOTIFY_SUCCESS
        return self._mpesa_notification(message, kind=kind, sticky=True)
