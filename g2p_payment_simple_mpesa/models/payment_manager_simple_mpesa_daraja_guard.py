"""Hardening of the Daraja callback URLs: allow-list, trusted proxy, size limit.

Refused callbacks (wrong address, too big, unreadable, unknown payment) are
counted on the manager with the last reason, so an operator sees an attack or
a misconfigured proxy on the form instead of in the logs only.
"""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..mpesa import callback_guard

_logger = logging.getLogger(__name__)


class G2PPaymentManagerSimpleMpesaDarajaGuard(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    daraja_callback_allowlist = fields.Text(
        "Callback Source Addresses",
        tracking=True,
        help="Addresses or networks (CIDR) Daraja's callbacks may come from, "
        "separated by commas or lines; empty: any address (the secret in the "
        "URL still authenticates Daraja).",
    )
    daraja_trusted_proxies = fields.Text(
        "Trusted Proxies",
        tracking=True,
        help="Reverse proxies in front of Odoo (addresses or CIDR) whose "
        "X-Forwarded-For header tells the caller's address; from any other "
        "address the header is ignored.",
    )
    daraja_refused_callbacks = fields.Integer(
        "Refused Callbacks", readonly=True, copy=False
    )
    daraja_last_refused = fields.Char(
        "Last Refused Callback", readonly=True, copy=False
    )

    @api.constrains("daraja_callback_allowlist", "daraja_trusted_proxies")
    def _check_daraja_networks(self):
        for manager in self:
            for name in ("daraja_callback_allowlist", "daraja_trusted_proxies"):
                try:
                    callback_guard.parse_networks(manager[name])
                except ValueError as exc:
                    raise ValidationError(
                        _(
                            "Payment manager %(manager)s: %(field)s: %(entry)r is "
                            "not an address or network; enter addresses such as "
                            "196.201.214.200 or networks such as 196.201.214.0/24.",
                            manager=manager.name,
                            field=self._fields[name].get_description(self.env)[
                                "string"
                            ],
                            entry=str(exc),
                        )
                    ) from None

    def _daraja_check_caller(self, peer, forwarded_for, size):
        """Raise CallbackForbidden (403) or CallbackTooLarge (413) if refused."""
        self.ensure_one()
        manager = self.sudo()
        if size is not None and size > callback_guard.MAX_CALLBACK_BYTES:
            raise callback_guard.CallbackTooLarge(
                "The callback body is %s bytes; at most %s are accepted."
                % (size, callback_guard.MAX_CALLBACK_BYTES)
            )
        address = callback_guard.client_address(
            peer, forwarded_for, manager.daraja_trusted_proxies
        )
        if not callback_guard.allowed(address, manager.daraja_callback_allowlist):
            raise callback_guard.CallbackForbidden(
                "Callbacks from %s are not accepted for this URL." % address
            )

    def _daraja_count_refusal(self, status, reason):
        """Count one refused callback (kept: the router answers without raising)."""
        self.ensure_one()
        when = fields.Datetime.now()
        _logger.warning(
            "Daraja callback for manager %s refused (%s): %s", self.id, status, reason
        )
        self.env.cr.execute(
            "UPDATE g2p_program_payment_manager_simple_mpesa "
            "SET daraja_refused_callbacks = COALESCE(daraja_refused_callbacks, 0) + 1, "
            "daraja_last_refused = %s WHERE id = %s",
            (
                "%s %s: %s" % (fields.Datetime.to_string(when), status, reason)[:250],
                self.id,
            ),
        )
        self.invalidate_recordset(["daraja_refused_callbacks", "daraja_last_refused"])
