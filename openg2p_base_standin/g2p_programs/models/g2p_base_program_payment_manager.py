from odoo import fields, models


class G2PBaseProgramPaymentManager(models.AbstractModel):
    """Contract every payment manager implements.

    ``prepare_payments`` issues payments (and batches), ``send_payments``
    hands batches to the payment channel, ``validate_accounts`` checks that
    beneficiaries can be paid. Concrete managers define them.
    """

    _name = "g2p.base.program.payment.manager"
    _inherit = "base.programs.manager"
    _description = "Base Payment Manager"

    name = fields.Char("Manager Name", required=True)
    program_id = fields.Many2one("g2p.program", required=True)

    def prepare_payments(self, entitlements):
        raise NotImplementedError()

    def send_payments(self, batches):
        raise NotImplementedError()

    def validate_accounts(self, entitlements):
        raise NotImplementedError()

    def mark_job_as_done(self, cycle, msg):
        """Unlock the cycle a queued job worked on and say so in its chatter."""
        self.ensure_one()
        cycle.write({"locked": False, "locked_reason": False})
        cycle.message_post(body=msg)
