from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

from . import const


class G2PProgram(models.Model):
    _name = "g2p.program"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Program"
    _order = "id desc"

    MANAGER_ELIGIBILITY = const.MANAGER_ELIGIBILITY
    MANAGER_CYCLE = const.MANAGER_CYCLE
    MANAGER_PROGRAM = const.MANAGER_PROGRAM
    MANAGER_ENTITLEMENT = const.MANAGER_ENTITLEMENT
    MANAGER_DEDUPLICATION = const.MANAGER_DEDUPLICATION
    MANAGER_NOTIFICATION = const.MANAGER_NOTIFICATION
    MANAGER_PAYMENT = const.MANAGER_PAYMENT

    name = fields.Char(required=True, tracking=True)
    description = fields.Text()
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    # OpenG2P takes the currency from the program's accounting journal; the
    # stand-in has no accounting, so the program carries it directly.
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
    )
    state = fields.Selection(
        [("active", "Active"), ("ended", "Ended")],
        default="active",
        required=True,
        tracking=True,
    )
    active = fields.Boolean(default=True)
    payment_managers = fields.Many2many("g2p.program.payment.manager")
    cycle_ids = fields.One2many("g2p.cycle", "program_id", "Cycles")
    cycles_count = fields.Integer("# Cycles", compute="_compute_cycles_count")

    @api.depends("cycle_ids")
    def _compute_cycles_count(self):
        counts = {
            program.id: count
            for program, count in self.env["g2p.cycle"]._read_group(
                [("program_id", "in", self.ids)], ["program_id"], ["__count"]
            )
        }
        for program in self:
            program.cycles_count = counts.get(program.id, 0)

    def get_manager(self, kind):
        """The concrete manager (manager_ref_id) of the given kind, or None."""
        self.ensure_one()
        if kind != const.MANAGER_PAYMENT:
            raise NotImplementedError("Manager not supported")
        wrappers = self.payment_managers
        if not wrappers:
            return None
        wrappers.ensure_one()
        return wrappers.manager_ref_id

    @api.model_create_multi
    def create(self, vals_list):
        # As upstream: every program starts with a default payment manager.
        programs = super().create(vals_list)
        for program in programs:
            program._create_default_payment_manager()
        return programs

    def _create_default_payment_manager(self):
        self.ensure_one()
        manager = self.env["g2p.program.payment.manager.default"].create(
            {"name": "Default", "program_id": self.id}
        )
        self.payment_managers = [
            Command.create(
                {
                    "program_id": self.id,
                    "manager_ref_id": "%s,%s" % (manager._name, manager.id),
                }
            )
        ]

    @api.constrains("payment_managers")
    def check_managers_limit(self):
        for program in self:
            if len(program.payment_managers) > 1:
                raise UserError(
                    _(
                        "Program %(program)s can have only one payment manager: "
                        "point its payment manager at the one you want instead of "
                        "adding another.",
                        program=program.name,
                    )
                )

    def open_cycles_form(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_cycle"
        )
        action["domain"] = [("program_id", "=", self.id)]
        action["context"] = {"default_program_id": self.id}
        return action
