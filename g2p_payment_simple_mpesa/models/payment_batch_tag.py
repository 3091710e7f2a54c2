import ast

from odoo import _, api, fields, models


class G2PPaymentBatchTagMpesa(models.Model):
    _inherit = "g2p.payment.batch.tag"

    # The Mpesa manager form lists tags with this instead of the raw domain.
    mpesa_domain_label = fields.Char(
        "Pays",
        compute="_compute_mpesa_domain_label",
        help="Which entitlements this tag puts in its batches (tags are tried in "
        "order; the last must be the catch-all [] so nobody is left out).",
    )

    @api.depends("domain")
    def _compute_mpesa_domain_label(self):
        for tag in self:
            try:
                everyone = ast.literal_eval((tag.domain or "[]").strip()) == []
            except (ValueError, SyntaxError):
                everyone = False
            tag.mpesa_domain_label = (
                _("Everyone not matched by an earlier tag")
                if everyone
                else _("Entitlements matching %(domain)s", domain=tag.domain)
            )
