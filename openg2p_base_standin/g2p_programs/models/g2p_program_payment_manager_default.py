import logging
from uuid import uuid4

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression

from odoo.addons.queue_job.delay import group

from . import const
from .const import DEFAULT_MAX_BATCH_SIZE

_logger = logging.getLogger(__name__)


class G2PProgramPaymentManagerDefault(models.Model):
    _name = "g2p.program.payment.manager.default"
    _inherit = ["g2p.base.program.payment.manager", "g2p.manager.source.mixin"]
    _description = "Default Payment Manager"

    # Upstream keeps the thresholds on the class; addons may read them there.
    MAX_PAYMENTS_FOR_SYNC_PREPARE = const.MAX_PAYMENTS_FOR_SYNC_PREPARE
    MAX_BATCHES_FOR_SYNC_SEND = const.MAX_BATCHES_FOR_SYNC_SEND

    currency_id = fields.Many2one(
        "res.currency", related="program_id.currency_id", readonly=True
    )
    create_batch = fields.Boolean("Automatically Create Batch")
    batch_tag_ids = fields.Many2many(
        "g2p.payment.batch.tag",
        "g2p_pay_batch_tag_pay_manager_def",
        string="Batch Tags",
    )

    # ------------------------------------------------------------------ config
    @api.onchange("create_batch")
    def _onchange_create_batch(self):
        if self.create_batch and not self.batch_tag_ids:
            self.batch_tag_ids = [Command.create(self._default_batch_tag_vals())]

    def _default_batch_tag_vals(self):
        return {
            "name": _("Default %(program)s", program=self.program_id.name or ""),
            "order": 1,
            "domain": "[]",
            "max_batch_size": DEFAULT_MAX_BATCH_SIZE,
        }

    @api.constrains("create_batch", "batch_tag_ids")
    def _check_batch_tag_ids(self):
        for manager in self.filtered("create_batch"):
            manager._get_sorted_batch_tags(error_class=ValidationError)

    def _get_sorted_batch_tags(self, error_class=UserError):
        """Tags in batching order; the last one must catch everything."""
        self.ensure_one()
        tags = self.batch_tag_ids.sorted(lambda t: (t.order, t.id))
        if not tags:
            raise error_class(
                _(
                    "Payment manager %(manager)s creates batches but has no batch "
                    "tags. Add at least one tag; the last one must have the "
                    "domain [].",
                    manager=self.name,
                )
            )
        if tags[-1]._get_domain():
            raise error_class(
                _(
                    "Payment manager %(manager)s: the last batch tag %(tag)s has "
                    "the domain %(domain)s, so some entitlements would never be "
                    "batched. Set its domain to [] or add a catch-all tag with "
                    "a higher order.",
                    manager=self.name,
                    tag=tags[-1].name,
                    domain=tags[-1].domain,
                )
            )
        return tags

    # ---------------------------------------------------------------- prepare
    def _notification(self, message, kind="info", sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Payment"),
                "message": message,
                "sticky": sticky,
                "type": kind,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def prepare_payments(self, cycle, entitlements=None):
        """Issue payments for the cycle's approved entitlements.

        As upstream: below ``MAX_PAYMENTS_FOR_SYNC_PREPARE`` approved
        entitlements (already paid ones included) on the click, from there on
        in one queued job while the cycle is locked.
        """
        self.ensure_one()
        if not entitlements:
            entitlements = cycle.entitlement_ids
        entitlements = entitlements.filtered(lambda e: e.state == "approved")
        entitlements_count = len(entitlements)
        if not entitlements_count:
            return self._notification(
                _("Cycle %(cycle)s has no approved entitlements.", cycle=cycle.name),
                kind="danger",
            )
        if entitlements_count >= self.MAX_PAYMENTS_FOR_SYNC_PREPARE:
            self._prepare_payments_async(cycle, entitlements, entitlements_count)
            return self._notification(
                _(
                    "Preparing the payments of %(count)s entitlements of cycle "
                    "%(cycle)s in the background; the cycle stays locked until "
                    "it is done.",
                    count=entitlements_count,
                    cycle=cycle.name,
                ),
                kind="success",
                sticky=True,
            )
        payments, _batches = self._prepare_payments(cycle, entitlements)
        if not payments:
            return self._notification(
                _(
                    "No new payments: every approved entitlement of cycle "
                    "%(cycle)s already has a payment that has not failed, or "
                    "matches no batch tag.",
                    cycle=cycle.name,
                ),
                kind="danger",
            )
        return self._notification(
            _(
                "%(count)s payments issued for cycle %(cycle)s.",
                count=len(payments),
                cycle=cycle.name,
            ),
            kind="success",
        )

    def _prepare_payments_async(self, cycle, entitlements, entitlements_count):
        """Queue ``_prepare_payments`` as one job; ``mark_job_as_done`` unlocks."""
        _logger.debug("Manager %s: preparing cycle %s in a job", self.id, cycle.id)
        cycle.message_post(
            body=_(
                "Preparing payments for %(count)s entitlements in a queued job.",
                count=entitlements_count,
            )
        )
        cycle.write(
            {
                "locked": True,
                "locked_reason": _("Preparing payments for the cycle's entitlements."),
            }
        )
        # One job, as upstream. A failed job leaves the cycle locked there too.
        main_job = group(self.delayable()._prepare_payments(cycle, entitlements))
        main_job.on_done(
            self.delayable().mark_job_as_done(cycle, _("Payments prepared."))
        )
        main_job.delay()

    def _entitlements_to_pay(self, entitlements):
        """Approved entitlements with no payment, or only failed ones."""
        # Read all payment statuses in one query instead of per entitlement.
        entitlements.mapped("payment_ids.status")
        return entitlements.filtered(
            lambda e: (
                e.state == "approved"
                and all(p.status == "failed" for p in e.payment_ids)
            )
        )

    def _get_account_number(self, entitlement):
        """Account number snapshot stored on the payment (first bank account)."""
        return entitlement.partner_id.bank_ids[:1].acc_number or False

    def _payment_vals(self, entitlement):
        return {
            "name": str(uuid4()),
            "entitlement_id": entitlement.id,
            "cycle_id": entitlement.cycle_id.id,
            "amount_issued": entitlement.initial_amount,
            "payment_fee": entitlement.transfer_fee,
            "state": "issued",
            "account_number": self._get_account_number(entitlement),
        }

    def _split_by_tags(self, entitlements):
        """[(tag, entitlements), ...] in tag order; each entitlement goes to
        the first tag whose domain matches it, unmatched ones to none (as
        upstream, whether or not batches are made)."""
        self.ensure_one()
        Entitlement = self.env["g2p.entitlement"]
        remaining = entitlements.sorted("id")
        result = []
        for tag in self.batch_tag_ids.sorted(lambda t: (t.order, t.id)):
            domain = tag._get_domain()
            if domain:
                tagged = Entitlement.search(
                    expression.AND([[("id", "in", remaining.ids)], domain]), order="id"
                )
            else:
                tagged = remaining
            remaining -= tagged
            result.append((tag, tagged))
        return result

    def _prepare_payments(self, cycle, entitlements):
        """Issue one payment per payable, tag-matched entitlement.

        Returns ``(payments, batches)``, each None when empty (upstream's
        contract): ``(None, None)`` when nothing new is paid.
        """
        self.ensure_one()
        if not entitlements:
            return None, None
        Payment = self.env["g2p.payment"]
        Batch = self.env["g2p.payment.batch"]
        entitlements = self._entitlements_to_pay(entitlements)
        # Prefetch beneficiaries' bank accounts for the account snapshot.
        entitlements.mapped("partner_id.bank_ids.acc_number")
        plan = []  # (tag, entitlement chunk) per future batch
        for tag, tagged in self._split_by_tags(entitlements):
            if not tagged:
                continue
            size = tag.max_batch_size or DEFAULT_MAX_BATCH_SIZE
            if not self.create_batch:
                size = len(tagged)
            plan += [(tag, tagged[i : i + size]) for i in range(0, len(tagged), size)]
        if not plan:
            return None, None
        batches = Batch
        if self.create_batch:
            now = fields.Datetime.now()
            batches = Batch.create(
                [
                    {
                        "name": str(uuid4()),
                        "cycle_id": cycle.id,
                        "stats_datetime": now,
                        "tag_id": tag.id,
                    }
                    for tag, _chunk in plan
                ]
            )
        payment_vals = []
        for index, (_tag, chunk) in enumerate(plan):
            batch_id = batches[index].id if batches else False
            payment_vals += [
                dict(self._payment_vals(entitlement), batch_id=batch_id)
                for entitlement in chunk
            ]
        payments = Payment.create(payment_vals)
        # Batch membership is a many2many upstream; fill it from batch_id.
        by_batch = {}
        for payment in payments.filtered("batch_id"):
            by_batch.setdefault(payment.batch_id.id, []).append(payment.id)
        for batch in batches:
            batch.payment_ids = [Command.set(by_batch.get(batch.id, []))]
        _logger.info(
            "Payment manager %s issued %s payments in %s batches for cycle %s",
            self.id,
            len(payments),
            len(batches),
            cycle.id,
        )
        return payments, batches or None

    # ------------------------------------------------------------------- send
    def send_payments(self, batches):
        """Send below ``MAX_BATCHES_FOR_SYNC_SEND`` batches on the click, else
        one queued job per cycle (as upstream)."""
        self.ensure_one()
        if len(batches) < self.MAX_BATCHES_FOR_SYNC_SEND:
            return self._send_payments(batches)
        _cycles, cycle_batches = self._group_batches_by_cycle(batches)
        for one_cycle_batches in cycle_batches:
            self._send_payments_async(one_cycle_batches[0].cycle_id, one_cycle_batches)
        return self._notification(
            _(
                "Sending the payments of %(count)s batches in the background; "
                "each cycle stays locked until its batches are sent.",
                count=len(batches),
            ),
            kind="success",
            sticky=True,
        )

    def _send_payments_async(self, cycle, batches):
        """Queue ``_send_payments`` of one cycle's batches as one job."""
        _logger.debug("Manager %s: sending cycle %s in a job", self.id, cycle.id)
        cycle.message_post(
            body=_(
                "Sending payments of %(count)s batches in a queued job.",
                count=len(batches),
            )
        )
        cycle.write(
            {
                "locked": True,
                "locked_reason": _("Sending payments of the cycle's batches."),
            }
        )
        main_job = group(self.delayable()._send_payments(batches))
        main_job.on_done(self.delayable().mark_job_as_done(cycle, _("Payments sent.")))
        main_job.delay()

    @api.model
    def _group_batches_by_cycle(self, batches):
        """``(cycles, [batches of each cycle, in the same order])``."""
        cycles = batches.cycle_id
        return cycles, [
            batches.filtered(lambda b, c=cycle: b.cycle_id == c) for cycle in cycles
        ]

    def _send_payments(self, batches):
        """The default manager has no payment channel (upstream returns None)."""
        if not batches:
            return self._notification(
                _("No payment batches to process."), kind="warning", sticky=True
            )
        return None

    def validate_accounts(self, entitlements):
        """Entitlements whose beneficiary has no bank account to pay into."""
        entitlements.mapped("partner_id.bank_ids")
        return entitlements.filtered(lambda e: not e.partner_id.bank_ids)
