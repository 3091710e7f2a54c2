from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .const import DEFAULT_MAX_BATCH_SIZE


class G2PPaymentBatchTag(models.Model):
    _name = "g2p.payment.batch.tag"
    _description = "Payment Batch Tag"
    _order = "order asc, id asc"

    name = fields.Char(required=True)
    order = fields.Integer()
    # Domain on g2p.entitlement selecting the entitlements batched under this tag.
    domain = fields.Text(default="[]", required=True)
    max_batch_size = fields.Integer(default=DEFAULT_MAX_BATCH_SIZE)

    def _get_domain(self):
        """Evaluated domain; raises a ValidationError naming the tag when bad."""
        self.ensure_one()
        try:
            domain = self.env["base.programs.manager"]._safe_eval(self.domain or "[]")
        except Exception as err:
            raise ValidationError(
                _(
                    "Batch tag %(tag)s: the domain %(domain)s cannot be read "
                    "(%(error)s). Use a list such as [('initial_amount', '>', 100)].",
                    tag=self.name,
                    domain=self.domain,
                    error=err,
                )
            ) from err
        if not isinstance(domain, list | tuple):
            raise ValidationError(
                _(
                    "Batch tag %(tag)s: the domain must be a list, got %(domain)s.",
                    tag=self.name,
                    domain=self.domain,
                )
            )
        try:
            # Builds the SQL without running it: rejects unknown fields early.
            self.env["g2p.entitlement"]._search(list(domain))
        except Exception as err:
            raise ValidationError(
                _(
                    "Batch tag %(tag)s: the domain %(domain)s is not valid on "
                    "entitlements (%(error)s).",
                    tag=self.name,
                    domain=self.domain,
                    error=err,
                )
            ) from err
        return list(domain)

    @api.constrains("domain", "max_batch_size")
    def _check_domain_and_size(self):
        for tag in self:
            if tag.max_batch_size <= 0:
                raise ValidationError(
                    _(
                        "Batch tag %(tag)s: the maximum batch size must be a "
                        "positive number.",
                        tag=tag.name,
                    )
                )
            tag._get_domain()
