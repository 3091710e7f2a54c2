"""What a cycle paid by Mpesa shows its officer: progress, counts, next step.

Every figure comes from two GROUP BY queries over the cycle's payments and
entitlements (a cycle may hold 100,000 payments: they are never loaded); the
queries and their arithmetic are in ``mpesa/cycle_figures.py``.
Nothing is stored: the dispatcher updates payments one by one and a stored
aggregate would rewrite (and row-lock) the cycle on every deposit.
"""

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_amount, format_datetime

from ..mpesa import const, cycle_figures

MANAGER_MODEL = "g2p.program.payment.manager.simple.mpesa"
CYCLE_APPROVED = "approved"
CYCLE_DISTRIBUTED = "distributed"
SEVERITY = (
    const.NOTIFY_SUCCESS,
    const.NOTIFY_INFO,
    const.NOTIFY_WARNING,
    const.NOTIFY_DANGER,
)


class G2PCycleMpesa(models.Model):
    _inherit = "g2p.cycle"

    mpesa_is_mpesa = fields.Boolean("Paid by Mpesa", compute="_compute_mpesa_is_mpesa")
    mpesa_payment_count = fields.Integer("Mpesa Payments", compute="_compute_mpesa")
    mpesa_unsent_count = fields.Integer("Not Sent Yet", compute="_compute_mpesa")
    mpesa_queued_count = fields.Integer("Queued", compute="_compute_mpesa")
    mpesa_awaiting_count = fields.Integer(
        "Awaiting Result",
        compute="_compute_mpesa",
        help="Sent and accepted by the gateway (Daraja B2C); each becomes paid or "
        "failed when its result arrives.",
    )
    mpesa_paid_count = fields.Integer("Paid", compute="_compute_mpesa")
    mpesa_failed_count = fields.Integer("Failed", compute="_compute_mpesa")
    mpesa_in_doubt_count = fields.Integer("In Doubt", compute="_compute_mpesa")
    mpesa_to_prepare_count = fields.Integer(
        "Entitlements Without Payment",
        compute="_compute_mpesa",
        help="Approved entitlements with no payment, or only failed ones: "
        "Prepare Payments issues payments for them.",
    )
    mpesa_currency_id = fields.Many2one("res.currency", compute="_compute_mpesa")
    mpesa_amount_total = fields.Monetary(
        "Amount Issued", currency_field="mpesa_currency_id", compute="_compute_mpesa"
    )
    mpesa_amount_paid = fields.Monetary(
        "Amount Paid", currency_field="mpesa_currency_id", compute="_compute_mpesa"
    )
    mpesa_amount_remaining = fields.Monetary(
        "Amount Remaining",
        currency_field="mpesa_currency_id",
        compute="_compute_mpesa",
        help="Issued and not paid yet: not sent, queued, awaiting a result or in "
        "doubt (failed payments not included).",
    )
    mpesa_amount_failed = fields.Monetary(
        "Amount Failed", currency_field="mpesa_currency_id", compute="_compute_mpesa"
    )
    mpesa_progress = fields.Float("Paid (%)", compute="_compute_mpesa")
    mpesa_summary = fields.Char("Mpesa Progress", compute="_compute_mpesa")
    mpesa_next_action = fields.Text("Next Step", compute="_compute_mpesa")
    mpesa_status_level = fields.Char(compute="_compute_mpesa")
    # Which header buttons make sense now (the form hides the others).
    mpesa_show_prepare = fields.Boolean(compute="_compute_mpesa")
    mpesa_show_send = fields.Boolean(compute="_compute_mpesa")
    mpesa_show_mark_distributed = fields.Boolean(compute="_compute_mpesa")

    def _compute_mpesa_is_mpesa(self):
        for cycle in self:
            wrappers = cycle.program_id.payment_managers
            ref = wrappers[:1].manager_ref_id if wrappers else None
            cycle.mpesa_is_mpesa = bool(ref) and ref._name == MANAGER_MODEL

    def _mpesa_figures(self):
        """{cycle id: {figure: value}} for the saved cycles in self."""
        ids = [i for i in self.ids if isinstance(i, int)]
        result = {i: cycle_figures.new_figures() for i in ids}
        if not ids:
            return result
        # The queries read what pending ORM writes may still hold.
        self.env["g2p.payment"].flush_model()
        self.env["g2p.payment.batch"].flush_model(["mpesa_due"])
        self.env["g2p.entitlement"].flush_model(["state", "cycle_id"])
        cr = self.env.cr
        cr.execute(cycle_figures.PAYMENT_FIGURES_SQL, {"ids": ids})
        for cycle_id, *row in cr.fetchall():
            cycle_figures.add_payment_row(result[cycle_id], *row)
        cr.execute(
            cycle_figures.TO_PREPARE_SQL,
            {
                "ids": ids,
                "approved": const.G2P_ENTITLEMENT_APPROVED,
                "failed": const.G2P_STATUS_FAILED,
            },
        )
        for cycle_id, count in cr.fetchall():
            result[cycle_id]["to_prepare"] = count
        return result

    def _compute_mpesa(self):
        figures_by_cycle = self._mpesa_figures()
        Payment = self.env["g2p.payment"]
        for cycle in self:
            figures = figures_by_cycle.get(cycle.id) or cycle_figures.new_figures()
            cycle.mpesa_payment_count = figures["payments"]
            cycle.mpesa_unsent_count = figures["unsent"]
            cycle.mpesa_queued_count = figures["queued"]
            cycle.mpesa_awaiting_count = figures["awaiting"]
            cycle.mpesa_paid_count = figures["paid"]
            cycle.mpesa_failed_count = figures["failed"]
            cycle.mpesa_in_doubt_count = figures["in_doubt"]
            cycle.mpesa_to_prepare_count = figures["to_prepare"]
            # The payments' currency: on the real base the cycle's may differ.
            cycle.mpesa_currency_id = (
                Payment.search([("cycle_id", "=", cycle.id)], limit=1).currency_id
                if figures["payments"]
                else False
            ) or cycle.currency_id
            cycle.mpesa_amount_total = figures["amount_total"]
            cycle.mpesa_amount_paid = figures["amount_paid"]
            cycle.mpesa_amount_failed = figures["amount_failed"]
            cycle.mpesa_amount_remaining = cycle_figures.amount_remaining(figures)
            cycle.mpesa_progress = cycle_figures.paid_percent(figures)
            approved = cycle.state == CYCLE_APPROVED
            open_count = cycle_figures.open_count(figures)
            cycle.mpesa_show_prepare = approved and figures["to_prepare"] > 0
            cycle.mpesa_show_send = approved and figures["unsent"] > 0
            cycle.mpesa_show_mark_distributed = (
                approved and figures["payments"] > 0 and not open_count
            )
            if cycle.mpesa_is_mpesa:
                summary, level, steps = cycle._mpesa_guidance(figures)
            else:
                summary, level, steps = False, False, []
            cycle.mpesa_summary = summary
            cycle.mpesa_status_level = level
            cycle.mpesa_next_action = "\n".join(steps) or False

    def _mpesa_manager(self):
        self.ensure_one()
        wrappers = self.program_id.payment_managers
        ref = wrappers[:1].manager_ref_id if wrappers else None
        return ref if ref and ref._name == MANAGER_MODEL else None

    def _mpesa_guidance(self, figures):
        """(summary line, alert level, next steps) of one Mpesa cycle."""
        self.ensure_one()
        currency = self.mpesa_currency_id

        def money(value):
            return (
                format_amount(self.env, value, currency)
                if currency
                else f"{value:,.2f}"
            )

        total = figures["payments"]
        if not total:
            summary = _("No payments yet.")
        else:
            summary = _(
                "%(paid)s of %(total)s payments paid: %(amount_paid)s of "
                "%(amount_total)s.",
                paid=figures["paid"],
                total=total,
                amount_paid=money(figures["amount_paid"]),
                amount_total=money(figures["amount_total"]),
            )
            if figures["awaiting"]:
                summary += " " + _(
                    "%(count)s sent, awaiting their result.",
                    count=figures["awaiting"],
                )
        steps, levels = [], [const.NOTIFY_SUCCESS]
        if figures["in_doubt"]:
            levels.append(const.NOTIFY_WARNING)
            steps.append(
                _(
                    "In doubt: %(count)s. The gateway may or may not have paid "
                    "them, and they are never re-sent on their own: click Open "
                    "In-doubt Payments, then Check Agent Balance or Reconcile "
                    "each.",
                    count=figures["in_doubt"],
                )
            )
        if figures["failed"]:
            levels.append(const.NOTIFY_DANGER)
            steps.append(
                _(
                    "Failed: %(count)s (%(amount)s). Click Open Failed Payments "
                    "to read why, fix the cause, then Prepare Payments issues new "
                    "payments for them.",
                    count=figures["failed"],
                    amount=money(figures["amount_failed"]),
                )
            )
        if figures["unsent"]:
            levels.append(const.NOTIFY_INFO)
            steps.append(
                _(
                    "Not sent yet: %(count)s prepared payments. Click Send Payments.",
                    count=figures["unsent"],
                )
            )
        if figures["queued"]:
            levels.append(const.NOTIFY_INFO)
            manager = self._mpesa_manager()
            next_run = manager._mpesa_next_run_at() if manager else None
            if next_run:
                steps.append(
                    _(
                        "Queued: %(count)s (%(amount)s to go). The scheduled job "
                        "sends them, next at %(when)s.",
                        count=figures["queued"],
                        amount=money(cycle_figures.amount_remaining(figures)),
                        when=format_datetime(self.env, next_run, dt_format="short"),
                    )
                )
            else:
                levels.append(const.NOTIFY_WARNING)
                steps.append(
                    _(
                        "Queued: %(count)s, but the scheduled job Mpesa: disburse "
                        "due payment batches is not active: activate it, or click "
                        "Disburse Due Batches Now on the payment manager.",
                        count=figures["queued"],
                    )
                )
        if figures["awaiting"]:
            levels.append(const.NOTIFY_INFO)
            steps.append(
                _(
                    "Awaiting result: %(count)s sent and accepted by the gateway. "
                    "Each becomes paid or failed when its result arrives; without "
                    "one in time, the scheduled job Mpesa: query Daraja for "
                    "overdue results asks for it. Nothing to do.",
                    count=figures["awaiting"],
                )
            )
        if figures["to_prepare"] and self.state == CYCLE_APPROVED:
            levels.append(const.NOTIFY_INFO)
            steps.append(
                _(
                    "Without a payment: %(count)s approved entitlements. Click "
                    "Prepare Payments.",
                    count=figures["to_prepare"],
                )
            )
        if total and figures["paid"] == total:
            if self.state == CYCLE_APPROVED:
                steps.append(
                    _("Everyone is paid: click Mark Distributed to close the cycle.")
                )
            else:
                steps.append(_("Everyone is paid. Nothing to do."))
        elif (
            total
            and self.state == CYCLE_APPROVED
            and not cycle_figures.open_count(figures)
        ):
            steps.append(
                _(
                    "Nothing is on its way any more: pay the failed ones again as "
                    "above, or click Mark Distributed to close the cycle without "
                    "them."
                )
            )
        level = max(levels, key=SEVERITY.index)
        return summary, level, steps

    # ------------------------------------------------------------ buttons
    def action_mpesa_mark_distributed(self):
        """Close a cycle whose Mpesa payments are all settled (paid or failed).

        The real base marks a cycle distributed through the program's cycle
        manager, which programs made without the wizard (the demo's) lack:
        for those the state is set as the default cycle manager sets it.
        """
        for cycle in self:
            if not cycle.mpesa_show_mark_distributed:
                raise UserError(
                    _(
                        "Cycle %(cycle)s cannot be marked distributed yet: "
                        "%(open)s of its payments are not sent, queued, awaiting "
                        "a result or in doubt. Send them, wait for the scheduled "
                        "job and the results, or reconcile the in-doubt ones "
                        "first.",
                        cycle=cycle.name,
                        open=cycle.mpesa_unsent_count
                        + cycle.mpesa_queued_count
                        + cycle.mpesa_awaiting_count
                        + cycle.mpesa_in_doubt_count,
                    )
                )
            program = cycle.program_id
            if "cycle_managers" in program._fields and not program.cycle_managers:
                cycle.state = CYCLE_DISTRIBUTED
            else:
                cycle.mark_distributed()
            cycle.message_post(
                body=_(
                    "%(user)s marked the cycle distributed: %(summary)s",
                    user=self.env.user.name,
                    summary=cycle.mpesa_summary or "",
                ),
                subtype_xmlid="mail.mt_note",
            )
        return True

    def _mpesa_payments_action(self, state, help_html):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_payment"
        )
        action["domain"] = [("cycle_id", "=", self.id), ("mpesa_state", "=", state)]
        action["context"] = {}
        action["help"] = help_html
        return action

    def action_mpesa_open_in_doubt(self):
        return self._mpesa_payments_action(
            const.IN_DOUBT,
            _(
                '<p class="o_view_nocontent_smiling_face">No payment of this cycle '
                "is in doubt</p><p>A payment is in doubt when the gateway may or "
                "may not have paid it (a timeout, a dropped connection). Open one "
                "and click Check Agent Balance, or Reconcile it after checking the "
                "gateway statement.</p>"
            ),
        )

    def action_mpesa_open_failed(self):
        return self._mpesa_payments_action(
            const.FAILED,
            _(
                '<p class="o_view_nocontent_smiling_face">No payment of this cycle '
                "failed</p><p>A failed payment keeps its reason (unknown customer, "
                "missing phone...). Fix the cause, then Prepare Payments issues a "
                "new payment.</p>"
            ),
        )
