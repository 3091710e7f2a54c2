from odoo import _, api, fields, models
from odoo.exceptions import UserError

from . import const


class G2PCycle(models.Model):
    _name = "g2p.cycle"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Cycle"
    _order = "sequence desc, id desc"

    name = fields.Char(required=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    program_id = fields.Many2one("g2p.program", required=True, index=True)
    sequence = fields.Integer(default=1)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    state = fields.Selection(
        [
            (const.STATE_DRAFT, "Draft"),
            (const.STATE_TO_APPROVE, "To Approve"),
            (const.STATE_APPROVED, "Approved"),
            (const.STATE_DISTRIBUTED, "Distributed"),
            (const.STATE_CANCELLED, "Cancelled"),
            (const.STATE_ENDED, "Ended"),
        ],
        default=const.STATE_DRAFT,
        required=True,
        tracking=True,
    )
    entitlement_ids = fields.One2many("g2p.entitlement", "cycle_id", "Entitlements")
    payment_batch_ids = fields.One2many(
        "g2p.payment.batch", "cycle_id", "Payment Batches"
    )
    # Set while a queued job prepares or sends the cycle's payments (from 200
    # entitlements / 50 batches); the job's on_done hook clears them.
    locked = fields.Boolean(default=False)
    locked_reason = fields.Char()
    currency_id = fields.Many2one("res.currency", related="program_id.currency_id")
    entitlements_count = fields.Integer("# Entitlements", compute="_compute_counts")
    payments_count = fields.Integer("# Payments", compute="_compute_counts")
    total_amount = fields.Monetary(
        compute="_compute_counts", currency_field="currency_id"
    )

    _sql_constraints = [
        (
            "unique_cycle_name_program",
            "UNIQUE(name, program_id)",
            "A program cannot have two cycles with the same name.",
        ),
    ]

    def _compute_counts(self):
        ent_data = {
            cycle.id: (count, amount)
            for cycle, count, amount in self.env["g2p.entitlement"]._read_group(
                [("cycle_id", "in", self.ids)],
                ["cycle_id"],
                ["__count", "initial_amount:sum"],
            )
        }
        pay_data = dict(
            self.env["g2p.payment"]._read_group(
                [("cycle_id", "in", self.ids)], ["cycle_id"], ["__count"]
            )
        )
        for cycle in self:
            count, amount = ent_data.get(cycle.id, (0, 0.0))
            cycle.entitlements_count = count
            cycle.total_amount = amount
            cycle.payments_count = pay_data.get(cycle, 0)

    @api.constrains("start_date", "end_date")
    def _check_dates(self):
        for cycle in self:
            if cycle.end_date < cycle.start_date:
                raise UserError(
                    _(
                        "Cycle %(cycle)s ends before it starts; fix the end date.",
                        cycle=cycle.name,
                    )
                )

    def _set_state(self, allowed_from, new_state):
        for cycle in self:
            if cycle.state not in allowed_from:
                raise UserError(
                    _(
                        "Cycle %(cycle)s is %(state)s and cannot move to %(new)s.",
                        cycle=cycle.name,
                        state=cycle.state,
                        new=new_state,
                    )
                )
        self.state = new_state

    def to_approve(self):
        self._set_state([const.STATE_DRAFT], const.STATE_TO_APPROVE)

    def approve(self):
        self._set_state([const.STATE_TO_APPROVE], const.STATE_APPROVED)

    def reset_draft(self):
        self._set_state([const.STATE_TO_APPROVE], const.STATE_DRAFT)

    def mark_distributed(self):
        self._set_state([const.STATE_APPROVED], const.STATE_DISTRIBUTED)

    def mark_ended(self):
        self._set_state(
            [const.STATE_APPROVED, const.STATE_DISTRIBUTED], const.STATE_ENDED
        )

    def mark_cancelled(self):
        self._set_state(
            [const.STATE_DRAFT, const.STATE_TO_APPROVE, const.STATE_APPROVED],
            const.STATE_CANCELLED,
        )

    def _get_payment_manager(self):
        manager = self.program_id.get_manager(const.MANAGER_PAYMENT)
        if not manager:
            raise UserError(_("No Payment Manager defined."))
        return manager

    def prepare_payment(self):
        return self._get_payment_manager().prepare_payments(self)

    def send_payment(self):
        return self._get_payment_manager().send_payments(self.payment_batch_ids)

    def refresh_page(self):
        """Reload the form to see whether the queued job is done (as upstream)."""
        return {"type": "ir.actions.client", "tag": "reload"}

    def open_payments_form(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_payment"
        )
        action["domain"] = [("cycle_id", "=", self.id)]
        return action

    def open_entitlements_form(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_entitlement"
        )
        action["domain"] = [("cycle_id", "=", self.id)]
        action["context"] = {"default_cycle_id": self.id}
        return action
