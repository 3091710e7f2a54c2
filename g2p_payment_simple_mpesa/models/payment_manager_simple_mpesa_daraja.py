"""Gateway type of the Mpesa manager, and the Daraja B2C settings and client.

With gateway type *daraja-b2c* the manager's two endpoint URLs are Daraja's
token URL (``.../oauth/v1/generate?grant_type=client_credentials``) and B2C
payment request URL (``.../mpesa/b2c/v3/paymentrequest``); the agent username
and password are not used.  simple-mpesa managers behave exactly as before.
"""

import re
from urllib.parse import urlparse

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..mpesa import const, daraja_credential, daraja_token, routes
from ..mpesa.daraja_client import DarajaClient
from ..mpesa.errors import AuthError, ConfigError, GatewayError
from .daraja_token import DarajaTokenStore

GATEWAY_TYPE_SELECTION = [
    (const.GATEWAY_SIMPLE_MPESA, "simple-mpesa"),
    (const.GATEWAY_DARAJA_B2C, "Daraja B2C (Safaricom)"),
]
COMMAND_ID_SELECTION = [(c, c) for c in const.DARAJA_COMMAND_IDS]
CALLBACK_ENDPOINT_XMLID = "g2p_payment_simple_mpesa.fastapi_endpoint_mpesa_callbacks"
DARAJA_FIELDS = (
    "gateway_type",
    "daraja_consumer_key",
    "daraja_consumer_secret",
    "daraja_shortcode",
    "daraja_initiator_name",
    "daraja_initiator_password",
    "daraja_certificate",
    "daraja_command_id",
    "daraja_callback_base_url",
    "daraja_status_url",
    "daraja_concurrency",
    "daraja_result_minutes",
)


def _is_http_url(url):
    parsed = urlparse((url or "").strip())
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


class G2PPaymentManagerSimpleMpesaDaraja(models.Model):
    # One model, one file per responsibility (see payment_manager_simple_mpesa).
    _inherit = "g2p.program.payment.manager.simple.mpesa"  # pylint: disable=consider-merging-classes-inherited

    gateway_type = fields.Selection(
        GATEWAY_TYPE_SELECTION,
        required=True,
        default=const.GATEWAY_SIMPLE_MPESA,
        tracking=True,
        help="simple-mpesa: one agent account, payments sent one at a time. Daraja "
        "B2C: Safaricom's API, payments sent in parallel with an idempotency key and "
        "results posted back to Odoo.",
    )
    # Secrets: settings administrators only, never tracked, never logged.
    daraja_consumer_key = fields.Char(
        "Consumer Key", groups="base.group_system", copy=False
    )
    daraja_consumer_secret = fields.Char(
        "Consumer Secret", groups="base.group_system", copy=False
    )
    daraja_initiator_password = fields.Char(
        "Initiator Password", groups="base.group_system", copy=False
    )
    daraja_callback_secret = fields.Char(
        "Callback Secret",
        groups="base.group_system",
        copy=False,
        help="Part of the callback URLs: only Daraja, which is given them with every "
        "request, can post results. Regenerate it if the URLs leaked.",
    )
    daraja_shortcode = fields.Char("Shortcode (PartyA)", tracking=True)
    daraja_initiator_name = fields.Char("Initiator Name", tracking=True)
    daraja_certificate = fields.Binary(
        "M-Pesa Certificate",
        attachment=False,
        copy=False,
        help="Safaricom's public certificate (.cer, PEM or DER) for the sandbox or "
        "production; it encrypts the initiator password into the SecurityCredential.",
    )
    daraja_certificate_filename = fields.Char("Certificate File Name")
    daraja_command_id = fields.Selection(
        COMMAND_ID_SELECTION,
        "Command ID",
        default=const.DARAJA_DEFAULT_COMMAND_ID,
        tracking=True,
    )
    daraja_callback_base_url = fields.Char(
        "Callback Base URL",
        tracking=True,
        help="Public https address of this Odoo as Daraja reaches it; empty: the "
        "system parameter web.base.url.",
    )
    daraja_status_url = fields.Char(
        "Transaction Status URL",
        tracking=True,
        help="Empty: /mpesa/transactionstatus/v1/query on the payment URL's host.",
    )
    daraja_concurrency = fields.Integer(
        "Parallel Requests",
        default=const.DARAJA_DEFAULT_CONCURRENCY,
        help="Payment requests in flight at once for this shortcode; halved "
        "automatically while Daraja answers spike arrest or quota errors.",
    )
    daraja_result_minutes = fields.Integer(
        "Result Wait (minutes)",
        default=const.DARAJA_DEFAULT_RESULT_MINUTES,
        help="Minutes to wait for a result callback before asking Daraja with a "
        "Transaction Status query.",
    )
    daraja_result_url = fields.Char(
        "Result URL", compute="_compute_daraja_urls", groups="base.group_system"
    )
    daraja_timeout_url = fields.Char(
        "Queue Timeout URL", compute="_compute_daraja_urls", groups="base.group_system"
    )
    daraja_certificate_info = fields.Char(
        "Certificate", compute="_compute_daraja_certificate_info"
    )

    _sql_constraints = [
        (
            "daraja_callback_secret_unique",
            "unique(daraja_callback_secret)",
            "Two payment managers cannot share a Daraja callback secret; regenerate "
            "it on one of them.",
        )
    ]

    # One secret per manager, made when it becomes a Daraja manager (not a
    # field default: adding the column would give every existing row one value).
    @api.model_create_multi
    def create(self, vals_list):
        managers = super().create(vals_list)
        managers._daraja_ensure_secret()
        return managers

    def write(self, vals):
        result = super().write(vals)
        if "gateway_type" in vals:
            self._daraja_ensure_secret()
        return result

    def _daraja_ensure_secret(self):
        for manager in self.sudo():
            if (
                manager.gateway_type == const.GATEWAY_DARAJA_B2C
                and not manager.daraja_callback_secret
            ):
                manager.daraja_callback_secret = routes.new_callback_secret()

    # ------------------------------------------------------------ computed
    def _compute_daraja_urls(self):
        for manager in self:
            daraja = manager.gateway_type == const.GATEWAY_DARAJA_B2C
            manager.daraja_result_url = daraja and manager._daraja_callback_url(
                const.DARAJA_CALLBACK_RESULT
            )
            manager.daraja_timeout_url = daraja and manager._daraja_callback_url(
                const.DARAJA_CALLBACK_TIMEOUT
            )

    @api.depends("daraja_certificate")
    def _compute_daraja_certificate_info(self):
        for manager in self:
            info = False
            if manager.daraja_certificate:
                try:
                    info = daraja_credential.describe(
                        daraja_credential.decode_upload(manager.daraja_certificate)
                    )
                except ConfigError as exc:
                    info = str(exc)
            manager.daraja_certificate_info = info

    def _daraja_callback_url(self, kind):
        self.ensure_one()
        manager = self.sudo()
        base = (manager.daraja_callback_base_url or "").strip() or self.env[
            "ir.config_parameter"
        ].sudo().get_param("web.base.url", "")
        endpoint = self.env.ref(CALLBACK_ENDPOINT_XMLID, raise_if_not_found=False)
        root = endpoint.sudo().root_path if endpoint else const.DARAJA_CALLBACK_ROOT
        return "%s%s/daraja/%s/%s" % (
            base.rstrip("/"),
            root,
            manager.daraja_callback_secret or "",
            kind,
        )

    def _daraja_status_endpoint(self):
        self.ensure_one()
        if self.daraja_status_url:
            return self.daraja_status_url.strip()
        parsed = urlparse((self.payment_endpoint_url or "").strip())
        return f"{parsed.scheme}://{parsed.netloc}{const.DARAJA_STATUS_PATH}"

    def action_daraja_regenerate_callback_secret(self):
        for manager in self:
            manager.sudo().daraja_callback_secret = routes.new_callback_secret()
            manager._mpesa_post(_("The Daraja callback secret was regenerated."))

    # ---------------------------------------------------------- validation
    @api.constrains(*DARAJA_FIELDS)
    def _check_daraja_settings(self):
        # Same single message listing every problem as the other settings.
        self._check_mpesa_settings()

    def _mpesa_settings_problems(self):
        problems = super()._mpesa_settings_problems()
        if self.gateway_type == const.GATEWAY_DARAJA_B2C:
            problems.extend(self._daraja_settings_problems())
        return problems

    def _daraja_settings_problems(self):
        """Every Daraja setting to fix, one sentence each (label first)."""
        self.ensure_one()
        manager = self.sudo()
        problems = []
        forgotten = self.env.context.get("mpesa_secrets_forgotten")
        for field, label in (
            ("daraja_consumer_key", _("Consumer Key")),
            ("daraja_consumer_secret", _("Consumer Secret")),
            ("daraja_initiator_name", _("Initiator Name")),
            ("daraja_initiator_password", _("Initiator Password")),
        ):
            if forgotten and field in routes.SECRET_FIELDS:
                continue  # just cleared after a move: entered again before sending
            if not (manager[field] or "").strip():
                problems.append(
                    _(
                        "%(label)s: empty; copy it from your app on the Daraja portal.",
                        label=label,
                    )
                )
        if not re.match(const.DARAJA_SHORTCODE_PATTERN, manager.daraja_shortcode or ""):
            problems.append(
                _(
                    "Shortcode (PartyA): %(value)r is not a shortcode; enter the 5 to "
                    "7 digits of the paying B2C shortcode, e.g. 600980.",
                    value=manager.daraja_shortcode or "",
                )
            )
        try:
            daraja_credential.rsa_public_key(
                daraja_credential.decode_upload(manager.daraja_certificate)
            )
        except ConfigError as exc:
            problems.append(_("M-Pesa Certificate: %(problem)s", problem=str(exc)))
        if manager.daraja_command_id not in const.DARAJA_COMMAND_IDS:
            problems.append(
                _(
                    "Command ID: choose one of %(allowed)s.",
                    allowed=", ".join(const.DARAJA_COMMAND_IDS),
                )
            )
        base = manager.daraja_callback_base_url
        if base and not _is_http_url(base):
            problems.append(
                _(
                    "Callback Base URL: %(url)r is not an http(s) URL; enter the "
                    "public address of this Odoo, e.g. https://odoo.example.org.",
                    url=base,
                )
            )
        if manager.daraja_status_url and not _is_http_url(manager.daraja_status_url):
            problems.append(
                _(
                    "Transaction Status URL: %(url)r is not an http(s) URL; leave it "
                    "empty to use the payment URL's host.",
                    url=manager.daraja_status_url,
                )
            )
        if not 1 <= manager.daraja_concurrency <= const.DARAJA_MAX_CONCURRENCY:
            problems.append(
                _(
                    "Parallel Requests: %(value)s is out of range; enter between 1 "
                    "and %(max)s (default %(default)s).",
                    value=manager.daraja_concurrency,
                    max=const.DARAJA_MAX_CONCURRENCY,
                    default=const.DARAJA_DEFAULT_CONCURRENCY,
                )
            )
        if manager.daraja_result_minutes < 1:
            problems.append(
                _(
                    "Result Wait (minutes): %(value)s is too low; enter at least 1.",
                    value=manager.daraja_result_minutes,
                )
            )
        return problems

    # -------------------------------------------------------------- client
    def _daraja_client(self):
        """Daraja client with the manager's settings (ConfigError if incomplete)."""
        self.ensure_one()
        manager = self.sudo()
        certificate = daraja_credential.decode_upload(manager.daraja_certificate)
        credential = daraja_credential.security_credential(
            manager.daraja_initiator_password, certificate
        )
        token_url = (manager.auth_endpoint_url or "").strip()
        timeout = manager.api_timeout or const.DEFAULT_API_TIMEOUT
        return DarajaClient(
            token_url=token_url,
            payment_url=(manager.payment_endpoint_url or "").strip(),
            status_url=manager._daraja_status_endpoint(),
            consumer_key=manager.daraja_consumer_key,
            consumer_secret=manager.daraja_consumer_secret,
            shortcode=manager.daraja_shortcode,
            initiator_name=manager.daraja_initiator_name,
            security_credential=credential,
            command_id=manager.daraja_command_id or const.DARAJA_DEFAULT_COMMAND_ID,
            result_url=manager._daraja_callback_url(const.DARAJA_CALLBACK_RESULT),
            timeout_url=manager._daraja_callback_url(const.DARAJA_CALLBACK_TIMEOUT),
            status_result_url=manager._daraja_callback_url(
                const.DARAJA_CALLBACK_STATUS
            ),
            status_timeout_url=manager._daraja_callback_url(
                const.DARAJA_CALLBACK_STATUS_TIMEOUT
            ),
            timeout=timeout,
            pool_size=manager.daraja_concurrency or const.DARAJA_DEFAULT_CONCURRENCY,
            token_cache=manager._daraja_token_cache(token_url, timeout),
        )

    def _daraja_token_cache(self, token_url, timeout):
        """This key's process-wide token cache, stored so all servers share it."""
        consumer_key = self.sudo().daraja_consumer_key
        if not token_url or not consumer_key:
            return None  # DarajaClient names the missing setting
        store = DarajaTokenStore.for_database(
            self.env.cr.dbname,
            daraja_token.store_key(token_url, consumer_key),
            daraja_token.store_lock_timeout((timeout, timeout)),
        )
        return daraja_token.shared_token_cache(token_url, consumer_key, store=store)

    def _mpesa_check_config(self):
        daraja = self.filtered(lambda m: m.gateway_type == const.GATEWAY_DARAJA_B2C)
        for manager in daraja:
            try:
                manager._daraja_client().close()
            except ConfigError as exc:
                raise UserError(
                    _(
                        "Payment manager %(manager)s cannot send payments: %(problem)s "
                        "An administrator sets this on the manager form (Daraja B2C "
                        "page).",
                        manager=manager.name,
                        problem=str(exc),
                    )
                ) from None
        return super(
            G2PPaymentManagerSimpleMpesaDaraja, self - daraja
        )._mpesa_check_config()

    # ----------------------------------------------------- test connection
    def _daraja_test_connection(self):
        """Build the credential and get an OAuth token; nothing is paid.

        A new token replaces the one a running send holds; that send logs in
        again on its next request (401.002.01), so testing stays safe.
        """
        self.ensure_one()
        title = _("Daraja connection of %(manager)s", manager=self.name)
        try:
            client = self._daraja_client()
        except ConfigError as exc:
            return self._mpesa_test_failed(
                title,
                _(
                    "Not tested: %(problem)s Fix it under Daraja B2C.",
                    problem=str(exc),
                ),
            )
        try:
            # A cached or stored token proves nothing about the settings now.
            client.token(force=True)
        except (AuthError, GatewayError) as exc:
            return self._mpesa_test_failed(
                title,
                _(
                    "%(problem)s Check the consumer key and secret and the token "
                    "URL %(url)s.",
                    problem=str(exc),
                    url=self.auth_endpoint_url,
                ),
            )
        finally:
            client.close()
        return self._mpesa_notification(
            _(
                "The security credential was built from the certificate and an "
                "OAuth token was issued for shortcode %(shortcode)s. Nothing was "
                "paid.",
                shortcode=self.sudo().daraja_shortcode,
            ),
            title=title,
        )
