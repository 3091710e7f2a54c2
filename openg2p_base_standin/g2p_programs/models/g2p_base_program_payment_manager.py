from odoo import _, fields, models


class G2PBaseProgramPaymentManager(models.AbstractModel):
    """Contract every payment manager implements.

    ``prepare_payments(cycle, entitlements=None)`` issues payments (and
    batches), ``send_payments(batches)`` hands batches to the payment channel,
    ``validate_accounts(entitlements)`` reports beneficiaries that cannot be
    paid. All three return what the UI button should do next.
    """

    _name = "g2p.base.program.payment.manager"
    _inherit = "base.programs.manager"
    _description = "Base Payment Manager"

    name = fields.Char("Manager Name", required=True)
    program_id = fields.Many2one("g2p.program", required=True)

    def prepare_payments(self, cycle, entitlements=None):
        raise NotImplementedError()

    def send_payments(self, batches):
        raise NotImplementedError()

    def validate_accounts(self, entitlements):
        raise NotImplementedError()

    def _client_notification(self, message, kind="info", sticky=False, title=None):
        """Client action showing a toast; kind is success|info|warning|danger."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title or _("Payment"),
                "message": message,
                "sticky": sticky,
                "type": kind,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
