"""Buttons of the manager form: they return actions and notifications."""

import logging
import time

from odoo import _, fields, models
from odoo.tools.misc import format_amount

from ..mpesa import const
from ..mpesa.errors import AuthError, ConfigError, GatewayError
from ..mpesa.run import RunSummary

_logger = logging.getLogger(__name__)


class G2PPaymentManagerSimpleMpesaUi(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    # Which buttons and banners make sense now (the form hides the others).
    mpesa_is_saved = fields.Boolean(compute="_compute_mpesa_ui")
    mpesa_show_disburse_now = fields.Boolean(compute="_compute_mpesa_ui")
    mpesa_attention = fields.Text("Needs Attention", compute="_compute_mpesa_ui")

    def _compute_mpesa_ui(self):
        for manager in self:
            saved = isinstance(manager.id, int)
            manager.mpesa_is_saved = saved
            manager.mpesa_show_disburse_now = saved and manager.mpesa_queued_count > 0
            manager.mpesa_attention = (
                _(
                    "In doubt: %(count)s payments. The gateway may or may not "
                    "have paid them, and they are never re-sent on their own. Open "
                    "them with the In Doubt button, then on each click Check Agent "
                    "Balance, or Reconcile it after checking the gateway statement.",
                    count=manager.mpesa_in_doubt_count,
                )
                if saved and manager.mpesa_in_doubt_count
                else False
            )

    def _mpesa_next_run_at(self):
        """When the disbursement cron runs next (None if it never will)."""
        cron = self.env.ref(const.CRON_XMLID, raise_if_not_found=False)
        if not cron or not cron.sudo().active:
            return None
        cron = cron.sudo()
        trigger = (
            self.env["ir.cron.trigger"]
            .sudo()
            .search([("cron_id", "=", cron.id)], order="call_at", limit=1)
        )
        times = [t for t in (cron.nextcall, trigger.call_at) if t]
        # An overdue run starts as soon as a cron worker is free: "now".
        return max(min(times), fields.Datetime.now()) if times else None

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
        action["help"] = _(
            '<p class="o_view_nocontent_smiling_face">No payment of %(manager)s is '
            "in doubt</p><p>A payment is in doubt when the gateway may or may not "
            "have paid it (a timeout, a dropped connection). Open one and click "
            "Check Agent Balance, or Reconcile it after checking the gateway "
            "statement.</p>",
            manager=self.name,
        )
        return action

    def action_open_mpesa_batches(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_payment_batch"
        )
        action["domain"] = [("mpesa_manager_id", "=", self.id)]
        action["context"] = {}
        action["help"] = _(
            '<p class="o_view_nocontent_smiling_face">%(manager)s has no payment '
            "batches yet</p><p>Prepare Payments on a cycle of its program makes "
            "them.</p>",
            manager=self.name,
        )
        return action

    def action_mpesa_test_connection(self):
        """Check the gateway without paying anyone; say what worked and what to fix.

        Nothing is deposited.  Messages name URLs and the agent, never the
        password.
        """
        self.ensure_one()
        self.check_access_rights("write")
        self.check_access_rule("write")
        if self.gateway_type == const.GATEWAY_DARAJA_B2C:
            return self._daraja_test_connection()
        return self._mpesa_test_connection()

    def _mpesa_test_connection(self):
        """The simple-mpesa check: log in and read the agent balance."""
        self.ensure_one()
        title = _("Mpesa connection of %(manager)s", manager=self.name)
        problems = self._mpesa_settings_problems()
        if problems:
            return self._mpesa_notification(
                _(
                    "Not tested; fix these settings first: %(problems)s",
                    problems=" ".join(problems),
                ),
                kind=const.NOTIFY_DANGER,
                sticky=True,
                title=title,
            )
        try:
            client = self._mpesa_client()
        except ConfigError as exc:
            return self._mpesa_notification(
                _(
                    "Not tested: %(problem)s Enter it under Agent Credentials.",
                    problem=str(exc),
                ),
                kind=const.NOTIFY_DANGER,
                sticky=True,
                title=title,
            )
        with client:
            try:
                client.login(force=True)
            except AuthError as exc:
                return self._mpesa_test_failed(title, str(exc))
            except GatewayError as exc:
                return self._mpesa_test_failed(
                    title,
                    _(
                        "%(problem)s Check the Authentication Endpoint URL "
                        "%(url)s and that the gateway is up.",
                        problem=str(exc),
                        url=self.auth_endpoint_url,
                    ),
                )
            login_ok = _("Login as %(agent)s worked.", agent=self.sudo().username or "")
            try:
                balance = client.balance()
            except (AuthError, ConfigError, GatewayError) as exc:
                return self._mpesa_test_failed(
                    title,
                    _(
                        "%(ok)s Reading the agent balance failed: %(problem)s "
                        "Check the Payment Endpoint URL %(url)s (the balance is "
                        "read next to it, at .../account/balance).",
                        ok=login_ok,
                        problem=str(exc),
                        url=self.payment_endpoint_url,
                    ),
                    kind=const.NOTIFY_WARNING,
                )
        currency = self.currency_id if "currency_id" in self._fields else None
        shown = (
            format_amount(self.env, balance, currency) if currency else f"{balance:,}"
        )
        _logger.info("Mpesa manager %s: connection test passed", self.id)
        return self._mpesa_notification(
            _(
                "%(ok)s The agent balance is %(balance)s. (No deposit was "
                "tried: deposits move money.)",
                ok=login_ok,
                balance=shown,
            ),
            kind=const.NOTIFY_SUCCESS,
            sticky=True,
            title=title,
        )

    def _mpesa_test_failed(self, title, message, kind=const.NOTIFY_DANGER):
        _logger.info("Mpesa manager %s: connection test failed", self.id)
        return self._mpesa_notification(message, kind=kind, sticky=True, title=title)

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
