"""Who may change where the manager's secrets are sent.

The addresses gateway credentials and tokens travel to (``mpesa.routes``) are
readable by program roles but writable by settings administrators only, on
every way in: form, RPC ``write``/``create``, import, ``onchange``.  When an
administrator moves one of them to another host, the secrets that travel it
are cleared (the callback secret is made anew) and the chatter says so, so a
changed address never receives credentials entered for the old one.
"""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..mpesa import routes

_logger = logging.getLogger(__name__)

SETTINGS_GROUP = "base.group_system"


def _plain(value):
    """A field value as write() gets it, for comparing (binary as text)."""
    if isinstance(value, bytes):
        value = value.decode()
    return value or False


class G2PPaymentManagerSimpleMpesaRoutes(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    mpesa_can_route_secrets = fields.Boolean(
        compute="_compute_mpesa_can_route_secrets",
        help="Whether this user may change where the gateway credentials are sent.",
    )

    @api.depends_context("uid")
    def _compute_mpesa_can_route_secrets(self):
        allowed = self._mpesa_may_route_secrets()
        for manager in self:
            manager.mpesa_can_route_secrets = allowed

    # ------------------------------------------------------------- the rules
    def _mpesa_secret_routes(self):
        """URL field -> secrets sent there; a later gateway adds its own."""
        return dict(routes.SECRET_ROUTES)

    def _mpesa_route_fields(self):
        return tuple(self._mpesa_secret_routes()) + routes.ROUTING_SETTINGS

    def _mpesa_may_route_secrets(self):
        return self.env.su or self.env.user.has_group(SETTINGS_GROUP)

    def _mpesa_refuse_route_change(self, changed, how, name=None):
        """Log the refused attempt for review and tell the user whom to ask."""
        names = ", ".join(
            self._fields[name].get_description(self.env)["string"] for name in changed
        )
        manager = name or self.display_name or _("(new)")
        _logger.warning(
            "Refused %s of %s on payment manager %r (%s,%s) by user %s (id %s)",
            how,
            ", ".join(changed),
            manager,
            self._name,
            self.id or "new",
            self.env.user.login,
            self.env.uid,
        )
        raise AccessError(
            _(
                "%(user)s cannot change %(fields)s of payment manager %(manager)s: "
                "these settings decide where the gateway credentials are sent, so only "
                "a settings administrator (Settings > Users: Administration "
                "Settings) may change them. Ask one to make the change; nothing was "
                "saved.",
                user=self.env.user.name,
                fields=names,
                manager=manager,
            )
        )

    def _mpesa_check_route_write(self, vals):
        guarded = [name for name in self._mpesa_route_fields() if name in vals]
        if not guarded or self._mpesa_may_route_secrets():
            return
        for manager in self:
            changed = [
                name
                for name in guarded
                if _plain(vals[name]) != _plain(manager.sudo()[name])
            ]
            if changed:
                manager._mpesa_refuse_route_change(changed, "write")

    def _mpesa_check_route_create(self, vals_list):
        if self._mpesa_may_route_secrets():
            return
        names = self._mpesa_route_fields()
        defaults = self.default_get(list(names))
        for vals in vals_list:
            changed = [
                name
                for name in names
                if name in vals and _plain(vals[name]) != _plain(defaults.get(name))
            ]
            if changed:
                self._mpesa_refuse_route_change(changed, "create", vals.get("name"))

    # ---------------------------------------------------------- ways in
    @api.model_create_multi
    def create(self, vals_list):
        self._mpesa_check_route_create(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._mpesa_check_route_write(vals)
        moving = set(vals) & set(self._mpesa_secret_routes())
        before = {m.id: m._mpesa_route_destinations() for m in self} if moving else {}
        result = super().write(vals)
        if moving:
            # Secrets entered in the same save are meant for the new address.
            self._mpesa_forget_moved_secrets(before, keep=set(vals))
        if "daraja_certificate" in vals:
            # A binary field cannot be tracked; who replaced it still matters.
            self._mpesa_post(
                _(
                    "%(user)s replaced the M-Pesa certificate.",
                    user=self.env.user.name,
                )
            )
        return result

    def onchange(self, values, field_names, fields_spec):
        # The form never sends these for a user who cannot change them; an RPC
        # caller that does is refused like a write.
        guarded = set(field_names or ()) & set(self._mpesa_route_fields())
        if guarded and not self._mpesa_may_route_secrets():
            self._mpesa_refuse_route_change(sorted(guarded), "onchange")
        return super().onchange(values, field_names, fields_spec)

    # ------------------------------------------------- moved to another host
    def _mpesa_route_destinations(self):
        """Each route's effective URL (empty status and callback URLs have defaults)."""
        self.ensure_one()
        manager = self.sudo()
        found = {name: manager[name] for name in self._mpesa_secret_routes()}
        found["daraja_status_url"] = manager._daraja_status_endpoint()
        found["daraja_callback_base_url"] = (
            manager.daraja_callback_base_url or ""
        ).strip() or self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        return found

    def _mpesa_forget_moved_secrets(self, before, keep=()):
        secret_routes = self._mpesa_secret_routes()
        for manager in self.sudo():
            old, new = before[manager.id], manager._mpesa_route_destinations()
            moved = [
                name
                for name in secret_routes
                if not routes.same_destination(old.get(name), new.get(name))
            ]
            stored = [
                name
                for name in routes.secrets_for(moved, secret_routes)
                if manager[name] and name not in keep
            ]
            if not stored:
                continue
            manager.with_context(mpesa_secrets_forgotten=True).write(
                {
                    name: (
                        routes.new_callback_secret()
                        if name in routes.GENERATED_SECRETS
                        else False
                    )
                    for name in stored
                }
            )
            manager._mpesa_post_forgotten(moved, stored, old, new)

    def _mpesa_post_forgotten(self, moved, stored, old, new):
        def label(name):
            return self._fields[name].get_description(self.env)["string"]

        hosts = "; ".join(
            _(
                "%(field)s: %(old)s -> %(new)s",
                field=label(name),
                old=(routes.destination(old.get(name)) or ("", "?"))[1],
                new=(routes.destination(new.get(name)) or ("", "?"))[1],
            )
            for name in moved
        )
        cleared = [label(n) for n in stored if n not in routes.GENERATED_SECRETS]
        remade = [label(n) for n in stored if n in routes.GENERATED_SECRETS]
        body = _(
            "%(user)s moved where the gateway credentials are sent to another "
            "host (%(hosts)s).",
            user=self.env.user.name,
            hosts=hosts,
        )
        if cleared:
            body += " " + _(
                "So that the new address never receives them, these were cleared: "
                "%(secrets)s. Enter them again before the next scheduled run; until "
                "then nothing is sent.",
                secrets=", ".join(cleared),
            )
        if remade:
            body += " " + _(
                "%(secrets)s was made anew: results of requests already sent are "
                "settled by status queries.",
                secrets=", ".join(remade),
            )
        self._mpesa_post(body)
