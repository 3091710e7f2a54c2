"""The Simple Mpesa payment manager: its fields, their validation, the client.

The model is spread over several files, one responsibility each, all
extending ``g2p.program.payment.manager.simple.mpesa``:

* this file: fields, constraints, credential and URL checks, the gateway
  client, and the chatter/commit plumbing every other part uses;
* ``payment_manager_simple_mpesa_payee``: payee account and amount of a payment;
* ``payment_manager_simple_mpesa_prepare``: Prepare, in bulk and in chunk jobs;
* ``payment_manager_simple_mpesa_queue``: checks, and Send (queue work only);
* ``payment_manager_simple_mpesa_cron``: the scheduled job that sends;
* ``payment_manager_simple_mpesa_reconcile``: settle in-doubt payments from
  the agent balance;
* ``payment_manager_simple_mpesa_ui``: buttons of the manager form.
"""

from urllib.parse import urlparse

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..mpesa import client as mpesa_client
from ..mpesa import const, payee
from ..mpesa.errors import ConfigError

PAYEE_ID_TYPE_SELECTION = [
    (const.PAYEE_BANK_ACC_NO, "Bank Account Number"),
    (const.PAYEE_BANK_ACC_IBAN, "IBAN"),
    (const.PAYEE_PHONE, "Phone"),
    (const.PAYEE_EMAIL, "Email"),
    (const.PAYEE_REG_ID, "Registrant ID"),
]
CUSTOMER_TYPE_SELECTION = [(t, t.capitalize()) for t in const.CUSTOMER_TYPES]
URL_SCHEMES = ("http", "https")


def _is_http_url(url):
    parsed = urlparse((url or "").strip())
    return parsed.scheme in URL_SCHEMES and bool(parsed.netloc)


class G2PPaymentManagerSimpleMpesa(models.Model):
    _name = "g2p.program.payment.manager.simple.mpesa"
    _inherit = [
        "g2p.program.payment.manager.default",
        "mail.thread",
        "mail.activity.mixin",
    ]
    _description = "Simple MPesa Payment Manager"

    batch_tag_ids = fields.Many2many(
        "g2p.payment.batch.tag",
        "g2p_pay_batch_tag_pay_manager_simple_mpesa",
        string="Batch Tags",
    )
    create_batch = fields.Boolean("Automatically Create Batch", default=True)
    payee_id_type = fields.Selection(
        PAYEE_ID_TYPE_SELECTION,
        "Payee ID Field",
        required=True,
        default=const.PAYEE_PHONE,
        tracking=True,
    )
    reg_id_type_for_payee_id = fields.Many2one(
        "g2p.id.type", "Payee DFSP ID Type", tracking=True
    )
    customer_type = fields.Selection(
        CUSTOMER_TYPE_SELECTION,
        default=const.DEFAULT_CUSTOMER_TYPE,
        required=True,
        tracking=True,
    )
    auth_endpoint_url = fields.Char(
        "Authentication Endpoint URL", required=True, tracking=True
    )
    payment_endpoint_url = fields.Char(
        "Payment Endpoint URL", required=True, tracking=True
    )
    api_timeout = fields.Integer(
        "API Timeout", default=const.DEFAULT_API_TIMEOUT, help="Seconds per request."
    )
    # Credentials: visible to settings administrators only, never tracked,
    # never logged (the client keeps the password in a private attribute).
    username = fields.Char(groups="base.group_system", copy=False)
    password = fields.Char(groups="base.group_system", copy=False)

    mpesa_max_attempts = fields.Integer(
        "Max Attempts",
        default=const.DEFAULT_MAX_ATTEMPTS,
        tracking=True,
        help="Attempts per payment for errors where the gateway certainly did not pay "
        "(throttling, unavailable). Payments that may have been paid are never "
        "retried.",
    )
    mpesa_payments_per_run = fields.Integer(
        "Payments per Scheduled Run",
        default=const.DEFAULT_PAYMENTS_PER_RUN,
        help="Upper bound of payments one run of the scheduled job sends for this "
        "manager.",
    )
    mpesa_prepare_chunk_size = fields.Integer(
        "Payments per Prepare Job",
        default=const.DEFAULT_PREPARE_CHUNK_SIZE,
        help="Large cycles are prepared by several queued jobs running in "
        "parallel, each issuing about this many payments (whole batches).",
    )
    mpesa_auto_disburse = fields.Boolean(
        "Disburse Automatically",
        tracking=True,
        help="Batches are due as soon as payments are prepared; otherwise an officer "
        "sends them with the cycle's Send Payments button.",
    )
    mpesa_expected_balance = fields.Float(
        "Expected Agent Balance",
        readonly=True,
        help="Agent balance this system expects after its last deposit; used to "
        "settle in-doubt deposits from the balance delta.",
    )
    mpesa_expected_balance_at = fields.Datetime("Expected Balance Time", readonly=True)
    mpesa_last_error = fields.Text("Last Dispatch Problem", readonly=True)
    mpesa_batch_ids = fields.One2many(
        "g2p.payment.batch", "mpesa_manager_id", "Mpesa Batches"
    )
    mpesa_in_doubt_count = fields.Integer(
        "In-doubt Payments", compute="_compute_mpesa_counts"
    )
    mpesa_queued_count = fields.Integer(
        "Queued Payments", compute="_compute_mpesa_counts"
    )

    # ------------------------------------------------------------- validation
    @api.constrains(
        "auth_endpoint_url",
        "payment_endpoint_url",
        "api_timeout",
        "mpesa_max_attempts",
        "mpesa_payments_per_run",
        "mpesa_prepare_chunk_size",
        "payee_id_type",
        "reg_id_type_for_payee_id",
        "customer_type",
    )
    def _check_mpesa_settings(self):
        """One error per save listing every setting to fix, not one at a time."""
        for manager in self:
            problems = manager._mpesa_settings_problems()
            if problems:
                raise ValidationError(
                    _(
                        "Payment manager %(manager)s cannot be saved; fix these "
                        "settings:\n%(problems)s",
                        manager=manager.name or "",
                        problems="\n".join("- " + problem for problem in problems),
                    )
                )

    def _mpesa_settings_problems(self):
        """Every configuration mistake of the manager, one sentence each.

        Each sentence starts with the field's label on the form and says what
        to enter instead.
        """
        self.ensure_one()
        problems = []
        if not _is_http_url(self.auth_endpoint_url):
            problems.append(
                _(
                    "Authentication Endpoint URL: %(url)r is not an http(s) URL; "
                    "enter the gateway's agent login URL, e.g. "
                    "https://mpesa.example.org/api/login/agent.",
                    url=self.auth_endpoint_url or "",
                )
            )
        if not _is_http_url(self.payment_endpoint_url):
            problems.append(
                _(
                    "Payment Endpoint URL: %(url)r is not an http(s) URL; "
                    "enter the gateway's deposit URL, e.g. "
                    "https://mpesa.example.org/api/transaction/deposit.",
                    url=self.payment_endpoint_url or "",
                )
            )
        if not 1 <= self.api_timeout <= const.MAX_API_TIMEOUT:
            problems.append(
                _(
                    "API Timeout: %(value)s seconds is out of range; enter between "
                    "1 and %(max)s seconds.",
                    value=self.api_timeout,
                    max=const.MAX_API_TIMEOUT,
                )
            )
        if self.mpesa_max_attempts < 1:
            problems.append(
                _(
                    "Max Attempts: %(value)s is too low; enter at least 1.",
                    value=self.mpesa_max_attempts,
                )
            )
        if self.mpesa_payments_per_run < 1:
            problems.append(
                _(
                    "Payments per Scheduled Run: %(value)s is too low; enter at "
                    "least 1.",
                    value=self.mpesa_payments_per_run,
                )
            )
        if self.mpesa_prepare_chunk_size < 1:
            problems.append(
                _(
                    "Payments per Prepare Job: %(value)s is too low; enter at "
                    "least 1 (default %(default)s).",
                    value=self.mpesa_prepare_chunk_size,
                    default=const.DEFAULT_PREPARE_CHUNK_SIZE,
                )
            )
        if not self.payee_id_type:
            problems.append(
                _(
                    "Payee ID Field: empty; choose where the Mpesa account of a "
                    "beneficiary is read from, e.g. Phone."
                )
            )
        elif (
            self.payee_id_type == const.PAYEE_REG_ID
            and not self.reg_id_type_for_payee_id
        ):
            problems.append(
                _(
                    "ID Type for Payee ID: empty, but the Payee ID Field is "
                    "Registrant ID; choose the ID type that holds the Mpesa "
                    "account."
                )
            )
        try:
            payee.validate_customer_type(self.customer_type)
        except ConfigError:
            problems.append(
                _(
                    "Customer Type: %(value)r is not a customer type of the "
                    "gateway; choose one of %(allowed)s.",
                    value=self.customer_type or "",
                    allowed=", ".join(label for _key, label in CUSTOMER_TYPE_SELECTION),
                )
            )
        return problems

    def _compute_mpesa_counts(self):
        Payment = self.env["g2p.payment"]
        for manager in self:
            domain = [("batch_id.mpesa_manager_id", "=", manager.id)]
            manager.mpesa_in_doubt_count = Payment.search_count(
                domain + [("mpesa_state", "=", const.IN_DOUBT)]
            )
            manager.mpesa_queued_count = Payment.search_count(
                domain + [("mpesa_state", "in", (const.QUEUED, const.SENDING))]
            )

    # ---------------------------------------------------- gateway credentials
    def _mpesa_client(self):
        """Gateway client with the manager's credentials (ConfigError if incomplete)."""
        self.ensure_one()
        manager = self.sudo()
        return mpesa_client.SimpleMpesaClient(
            manager.auth_endpoint_url,
            manager.payment_endpoint_url,
            manager.username,
            manager.password,
            timeout=manager.api_timeout or const.DEFAULT_API_TIMEOUT,
        )

    def _mpesa_check_config(self):
        for manager in self:
            try:
                manager._mpesa_client().close()
                payee.validate_customer_type(manager.customer_type)
            except ConfigError as exc:
                raise UserError(
                    _(
                        "Payment manager %(manager)s cannot send payments: %(problem)s "
                        "An administrator sets this on the manager form.",
                        manager=manager.name,
                        problem=str(exc),
                    )
                ) from None

    # --------------------------------------------------------------- plumbing
    def _mpesa_commit(self):
        """The only place this module commits (tests replace it)."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    def _mpesa_post(self, body):
        for manager in self:
            manager.sudo().message_post(
                body=body, message_type="comment", subtype_xmlid="mail.mt_note"
            )
