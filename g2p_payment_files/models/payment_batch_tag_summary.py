from odoo import _, api, fields, models


class G2PPaymentBatchTagSummary(models.Model):
    _inherit = "g2p.payment.batch.tag"  # pylint: disable=consider-merging-classes-inherited

    # The manager form lists tags with this instead of the raw domain ("[]").
    domain_summary = fields.Char(
        string="Pays",
        compute="_compute_domain_summary",
        help="Which entitlements this tag puts in its batches (tags are tried "
        "in order).",
    )

    @api.depends("domain")
    def _compute_domain_summary(self):
        for tag in self:
            domain = "".join((tag.domain or "").split())
            if domain in ("", "[]"):
                tag.domain_summary = _(
                    "Every entitlement not matched above (catch-all)"
                )
            else:
                tag.domain_summary = _(
                    "Entitlements matching %(domain)s", domain=tag.domain
                )
