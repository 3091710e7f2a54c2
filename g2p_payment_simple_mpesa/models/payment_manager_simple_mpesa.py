import logging
import time
import zlib
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlparse

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import config

from ..mpesa import client as mpesa_client
from ..mpesa import const, dispatch, payee
from ..mpesa.errors import AmountError, ConfigError, MpesaError, PayeeError
from .mpesa_dispatch_store import OdooDispatchStore

_logger = logging.getLogger(__name__)

# First key of the two-int advisory lock: "MP" for Mpesa, so our locks never
# collide with other modules' advisory locks.
AGENT_LOCK_NAMESPACE = 0x4D50
# Share of the cron time limit one scheduled run may use (requests can overrun
# the deadline by one timeout).
CRON_BUDGET_SHARE = 0.5
CRON_BUDGET_MAX = 60.0
UI_BUDGET_MAX = 20.0
# An unchanged agent balance proves "not applied" only once the gateway has
# certainly finished with the request.
NOT_APPLIED_SETTLE_MINUTES = 10

PAYEE_ID_TYPE_SELECTION = [
    ("bank_acc_no", "Bank Account Number"),
    ("bank_acc_iban", "IBAN"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("reg_id", "Registrant ID"),
]
CUSTOMER_TYPE_SELECTION = [(t, t.capitalize()) for t in const.CUSTOMER_TYPES]

CLAIM_SQL = """
    SELECT p.id
      FROM g2p_payment p
      JOIN g2p_payment_batch b ON b.id = p.batch_id
     WHERE b.mpesa_manager_id = %(manager)s
       AND b.mpesa_due
       AND p.mpesa_state = 'queued'
       AND (p.mpesa_next_attempt_at IS NULL
            OR p.mpesa_next_attempt_at <= %(now)s)
     ORDER BY b.id, p.id
     LIMIT %(limit)s
       FOR UPDATE OF p SKIP LOCKED
"""
# Payments claimed per query.  Each send still re-checks QUEUED atomically in
# the database (begin_send), so a claimed row whose lock ends with the first
# COMMIT of the chunk can never be sent twice.
CLAIM_CHUNK = 25


def _signed32(value):
    return value - (1 << 32) if value >= (1 << 31) else value


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
        PAYEE_ID_TYPE_SELECTION, "Payee ID Field", required=True, tracking=True
    )
    reg_id_type_for_payee_id = fields.Many2one(
        "g2p.id.type", "Payee DFSP ID Type", tracking=True
    )
    customer_type = fields.Selection(
        CUSTOMER_TYPE_SELECTION, default="subscriber", required=True, tracking=True
    )
    auth_endpoint_url = fields.Char(
        "Authentication Endpoint URL", required=True, tracking=True
    )
    payment_endpoint_url = fields.Char(
        "Payment Endpoint URL", required=True, tracking=True
    )
    api_timeout = fields.Integer("API Timeout", default=10, help="Seconds per request.")
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
        default=200,
        help="Upper bound of payments one run of the scheduled job sends for this "
        "manager.",
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
    @api.constrains("auth_endpoint_url", "payment_endpoint_url")
    def _check_endpoint_urls(self):
        for manager in self:
            for label, url in (
                (_("authentication endpoint URL"), manager.auth_endpoint_url),
                (_("payment endpoint URL"), manager.payment_endpoint_url),
            ):
                parsed = urlparse((url or "").strip())
                if parsed.scheme not in ("http", "https") or not parsed.netloc:
                    raise ValidationError(
                        _(
                            "Payment manager %(manager)s: the %(label)s %(url)r is not "
                            "an http(s) URL; enter e.g. "
                            "https://mpesa.example.org/api/login/agent.",
                            manager=manager.name,
                            label=label,
                            url=url or "",
                        )
                    )

    @api.constrains("api_timeout", "mpesa_max_attempts", "mpesa_payments_per_run")
    def _check_positive_numbers(self):
        for manager in self:
            if not 1 <= manager.api_timeout <= 60:
                raise ValidationError(
                    _(
                        "Payment manager %(manager)s: the API timeout must be "
                        "between 1 "
                        "and 60 seconds.",
                        manager=manager.name,
                    )
                )
            if manager.mpesa_max_attempts < 1 or manager.mpesa_payments_per_run < 1:
                raise ValidationError(
                    _(
                        "Payment manager %(manager)s: max attempts and payments "
                        "per run "
                        "must be at least 1.",
                        manager=manager.name,
                    )
                )

    @api.constrains("payee_id_type", "reg_id_type_for_payee_id")
    def _check_reg_id_type(self):
        for manager in self:
            if (
                manager.payee_id_type == "reg_id"
                and not manager.reg_id_type_for_payee_id
            ):
                raise ValidationError(
                    _(
                        "Payment manager %(manager)s pays to a registrant ID: choose "
                        "which ID type holds the Mpesa account.",
                        manager=manager.name,
                    )
                )

    @api.constrains("customer_type")
    def _check_customer_type(self):
        for manager in self:
            try:
                payee.validate_customer_type(manager.customer_type)
            except ConfigError as exc:
                raise ValidationError(
                    _(
                        "Payment manager %(manager)s: %(problem)s",
                        manager=manager.name,
                        problem=str(exc),
                    )
                ) from None

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

    def action_open_in_doubt_payments(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_payment"
        )
        action["domain"] = [
            ("batch_id.mpesa_manager_id", "=", self.id),
            ("mpesa_state", "=", const.IN_DOUBT),
        ]
        action["context"] = {}
        return action

    def action_open_mpesa_batches(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "g2p_programs.action_payment_batch"
        )
        action["domain"] = [("mpesa_manager_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------ plumbing
    def _mpesa_commit(self):
        """The only place this module commits (tests replace it)."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    def _mpesa_post(self, body):
        for manager in self:
            manager.sudo().message_post(
                body=body, message_type="comment", subtype_xmlid="mail.mt_note"
            )

    def _mpesa_report_problem(self, problem):
        """Chatter note for a systemic problem, once per distinct problem."""
        self.ensure_one()
        if problem != self.mpesa_last_error:
            self.mpesa_last_error = problem
            self._mpesa_post(
                _("Mpesa disbursement stopped: %(problem)s", problem=problem)
            )

    def _mpesa_agent_key(self):
        self.ensure_one()
        identity = "%s|%s" % (
            (self.sudo().auth_endpoint_url or "").strip().lower(),
            (self.sudo().username or "").strip().lower(),
        )
        return _signed32(zlib.crc32(identity.encode("utf-8")))

    def _mpesa_same_agent_managers(self):
        self.ensure_one()
        key = self._mpesa_agent_key()
        return self.sudo().search([]).filtered(lambda m: m._mpesa_agent_key() == key)

    @contextmanager
    def _mpesa_agent_lock(self):
        """Session-level advisory lock serialising sends of one agent account.

        Held on a dedicated connection so it survives the commits of the run and
        disappears with the worker if it dies (then its SENDING rows are stale).
        """
        key = self._mpesa_agent_key()
        lock_cr = self.env.registry.cursor()
        acquired = False
        try:
            lock_cr.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (AGENT_LOCK_NAMESPACE, key)
            )
            acquired = lock_cr.fetchone()[0]
            yield acquired
        finally:
            try:
                if acquired:
                    lock_cr.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", (AGENT_LOCK_NAMESPACE, key)
                    )
            except Exception:
                _logger.warning("Could not release the Mpesa agent lock", exc_info=True)
            finally:
                lock_cr.close()

    def _mpesa_client(self):
        """Gateway client with the manager's credentials (ConfigError if incomplete)."""
        self.ensure_one()
        manager = self.sudo()
        return mpesa_client.SimpleMpesaClient(
            manager.auth_endpoint_url,
            manager.payment_endpoint_url,
            manager.username,
            manager.password,
            timeout=manager.api_timeout or 10,
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

    # --------------------------------------------------------------- payees
    def _mpesa_payee_account(self, payment):
        """Account number to send for ``payment``.

        Raises PayeeError with a message a program officer can act on.
        """
        self.ensure_one()
        partner = payment.partner_id
        kind = self.payee_id_type
        raw = None
        missing = None
        if kind == "bank_acc_no":
            raw = (
                payment.account_number
                or partner.bank_ids.filtered("acc_number")[:1].acc_number
            )
            missing = _("has no bank account number")
        elif kind == "bank_acc_iban":
            raw = self._mpesa_partner_iban(partner)
            missing = _("has no bank account with an IBAN")
        elif kind == "phone":
            raw = partner.phone or partner.mobile
            missing = _("has no phone number")
        elif kind == "email":
            raw = partner.email
            missing = _("has no e-mail address")
        elif kind == "reg_id":
            id_type = self.reg_id_type_for_payee_id
            raw = partner.reg_ids.filtered(lambda r: r.id_type == id_type and r.value)[
                :1
            ].value
            missing = _(
                "has no registrant ID of type %(type)s", type=id_type.name or "?"
            )
        if not raw or not str(raw).strip():
            raise PayeeError(
                _(
                    "Beneficiary %(partner)s %(missing)s, which this payment manager "
                    "pays to. Add it on the registrant, then prepare the payment "
                    "again.",
                    partner=partner.display_name,
                    missing=missing,
                )
            )
        try:
            return payee.account_for(kind, raw)
        except PayeeError as exc:
            raise PayeeError(
                _(
                    "Beneficiary %(partner)s: %(problem)s Correct it on the "
                    "registrant, "
                    "then prepare the payment again.",
                    partner=partner.display_name,
                    problem=str(exc),
                )
            ) from None

    @api.model
    def _mpesa_partner_iban(self, partner):
        """First IBAN of the partner's bank accounts.

        OpenG2P computes the IBAN from the bank's country and BIC and the
        account number, and the computation raises on bad bank data: that is
        a payee error, read one account at a time so that another
        beneficiary's bad data never blocks this one.
        """
        for bank in partner.bank_ids:
            try:
                iban = bank.with_prefetch().iban
            except Exception as exc:  # any error of the IBAN computation
                raise PayeeError(
                    _(
                        "Beneficiary %(partner)s: no IBAN can be formed from bank "
                        "account %(account)s (%(problem)s). Correct the bank and the "
                        "account number on the registrant, then prepare the payment "
                        "again.",
                        partner=partner.display_name,
                        account=bank.acc_number or "?",
                        problem=str(exc) or type(exc).__name__,
                    )
                ) from None
            if iban:
                return iban
        return None

    def _mpesa_whole_amount(self, payment):
        try:
            return payee.whole_amount(payment.amount_issued)
        except AmountError as exc:
            raise AmountError(
                _(
                    "Payment %(name)s: %(problem)s",
                    name=payment.name,
                    problem=str(exc),
                )
            ) from None

    # -------------------------------------------------- disburse from the UI
    def action_disburse_now(self):
        """Run one bounded disbursement pass for this manager in the request."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        # A person waits for this answer: a shorter budget than the cron's.
        budget = min(self._mpesa_time_budget(), UI_BUDGET_MAX)
        deadline = time.monotonic() + budget
        results = [manager.sudo()._mpesa_disburse(deadline) for manager in self]
        counts = {s: sum(r["counts"].get(s, 0) for r in results) for s in const.STATES}
        busy = any(r["busy"] for r in results)
        message = _(
            "%(paid)s paid, %(failed)s failed, %(queued)s to retry later, %(doubt)s in "
            "doubt.",
            paid=counts[const.PAID],
            failed=counts[const.FAILED],
            queued=counts[const.QUEUED],
            doubt=counts[const.IN_DOUBT],
        )
        if busy:
            message += " " + _(
                "Another worker is sending for this agent; try again later."
            )
        problems = [r["aborted"] for r in results if r["aborted"]]
        if problems:
            message += " " + _("Stopped: %(problem)s", problem="; ".join(problems))
        if any(r["more"] for r in results):
            self._mpesa_trigger_cron()
        kind = (
            "danger"
            if problems
            else ("warning" if counts[const.IN_DOUBT] else "success")
        )
        return self._mpesa_notification(message, kind=kind, sticky=True)

    # -------------------------------------------------------------- the cron
    @api.model
    def _mpesa_time_budget(self):
        if self.env.context.get("mpesa_time_budget"):
            return float(self.env.context["mpesa_time_budget"])
        limit = config.get("limit_time_real_cron") or 0
        if not limit or limit <= 0:
            limit = config.get("limit_time_real") or 120
        return min(CRON_BUDGET_MAX, max(limit * CRON_BUDGET_SHARE, 5.0))

    @api.model
    def _cron_disburse_due_batches(self):
        """Scheduled job: send due batches.

        Bounded per run (time budget, payments per manager); re-triggers itself
        while work remains.
        """
        deadline = time.monotonic() + self._mpesa_time_budget()
        Batch = self.env["g2p.payment.batch"].sudo()
        auto = Batch.search(
            [
                ("mpesa_manager_id.mpesa_auto_disburse", "=", True),
                ("mpesa_due", "=", False),
                ("batch_has_completed", "=", False),
            ]
        )
        for manager in auto.mpesa_manager_id:
            manager._mpesa_queue_batches(
                auto.filtered(lambda b, m=manager: b.mpesa_manager_id == m)
            )
        due = Batch.search(
            [("mpesa_due", "=", True), ("batch_has_completed", "=", False)]
        )
        more = False
        retry_at = []
        for manager in due.mpesa_manager_id.sorted("id"):
            if time.monotonic() >= deadline:
                more = True
                break
            result = manager._mpesa_disburse(deadline)
            more = more or result["more"]
            if result["retry_at"]:
                retry_at.append(result["retry_at"])
        if more:
            self._mpesa_trigger_cron()
        elif retry_at:
            self._mpesa_trigger_cron(at=min(retry_at))
        return True

    def _mpesa_claimable_now(self):
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(
            CLAIM_SQL.replace("FOR UPDATE OF p SKIP LOCKED", ""),
            {"manager": self.id, "now": fields.Datetime.now(), "limit": 1},
        )
        return bool(self.env.cr.fetchone())

    def _mpesa_next_retry_at(self):
        self.ensure_one()
        self.env.cr.execute(
            """SELECT min(p.mpesa_next_attempt_at) FROM g2p_payment p
                 JOIN g2p_payment_batch b ON b.id = p.batch_id
                WHERE b.mpesa_manager_id = %s AND b.mpesa_due
                  AND p.mpesa_state = 'queued'""",
            (self.id,),
        )
        return self.env.cr.fetchone()[0]

    def _mpesa_iter_items(self, store, limit):
        """Claim queued payments a chunk at a time (lazily, between two commits)."""
        self.ensure_one()
        Payment = self.env["g2p.payment"]
        customer_type = self.customer_type
        claimed = 0
        while claimed < limit:
            self.env.flush_all()
            # Drop what earlier chunks cached: memory stays flat over a long
            # run, and the chunk is read fresh from the database.
            self.env.invalidate_all(flush=False)
            self.env.cr.execute(
                CLAIM_SQL,
                {
                    "manager": self.id,
                    "now": fields.Datetime.now(),
                    "limit": min(CLAIM_CHUNK, limit - claimed),
                },
            )
            ids = [row[0] for row in self.env.cr.fetchall()]
            if not ids:
                return
            # Every COMMIT clears the ORM cache: resolve the whole chunk now,
            # while one prefetching read serves all its payments and payees.
            resolved = []
            for payment in Payment.browse(ids):
                try:
                    resolved.append(
                        (
                            payment,
                            self._mpesa_whole_amount(payment),
                            self._mpesa_payee_account(payment),
                            payment.mpesa_attempt_count,
                            payment.batch_id.id,
                            None,
                        )
                    )
                except MpesaError as exc:
                    resolved.append((payment, None, None, 0, None, str(exc)))
            for payment, amount, account, attempts, batch_id, problem in resolved:
                claimed += 1
                if problem is not None:
                    # The chunk's row locks ended with its first COMMIT: fail
                    # it only if it is still queued.
                    if store.lock_if_queued(payment):
                        store.fail_locally(payment, problem)
                    continue
                store.batch_of[payment.id] = batch_id
                yield dispatch.DispatchItem(
                    key=payment.id,
                    amount=amount,
                    account_no=account,
                    customer_type=customer_type,
                    attempts=attempts,
                )

    def _mpesa_sweep_stale_sending(self):
        """SENDING rows of this agent while we hold its lock: their worker died."""
        self.ensure_one()
        managers = self._mpesa_same_agent_managers()
        stale = self.env["g2p.payment"].search(
            [
                ("mpesa_state", "=", const.SENDING),
                ("batch_id.mpesa_manager_id", "in", managers.ids),
            ]
        )
        if not stale:
            return stale
        store = OdooDispatchStore(self)
        reason = _(
            "The worker sending this payment stopped before recording the gateway's "
            "answer (restart or crash); the deposit may have been applied."
        )
        for payment in stale:
            store.apply_decision(
                payment, dispatch.recover_stale_state(const.SENDING), reason
            )
        self._mpesa_post(
            _(
                "%(count)s payments were found in flight from a stopped worker and are "
                "now in doubt (never re-sent automatically): %(names)s. Reconcile them "
                "from the payment form.",
                count=len(stale),
                names=", ".join(stale.mapped("name")),
            )
        )
        self.env["g2p.payment.batch"].browse(store.batch_ids)._mpesa_refresh_figures()
        self._mpesa_commit()
        return stale

    def _mpesa_disburse(self, deadline, limit=None):
        """One bounded pass over this manager's due payments (call on sudo)."""
        self.ensure_one()
        result = {
            "counts": {},
            "busy": False,
            "aborted": None,
            "more": False,
            "retry_at": None,
        }
        try:
            client = self._mpesa_client()
        except ConfigError as exc:
            result["aborted"] = str(exc)
            self._mpesa_report_problem(result["aborted"])
            self._mpesa_commit()
            return result
        try:
            with self._mpesa_agent_lock() as acquired:
                if not acquired:
                    # Another worker sends for this agent; it re-triggers the
                    # cron itself while work remains.
                    result["busy"] = True
                    _logger.info(
                        "Mpesa manager %s: its agent is busy in another worker", self.id
                    )
                    return result
                # Start a fresh transaction: rows committed by the worker that
                # held the lock before us must be visible (REPEATABLE READ).
                self._mpesa_commit()
                self._mpesa_sweep_stale_sending()
                if self._mpesa_claimable_now():
                    self._mpesa_run_dispatch(client, deadline, limit, result)
                result["more"] = result["more"] or (
                    not result["aborted"] and self._mpesa_claimable_now()
                )
                result["retry_at"] = self._mpesa_next_retry_at()
                self._mpesa_commit()
        finally:
            client.close()
        return result

    def _mpesa_run_dispatch(self, client, deadline, limit, result):
        ledger = None
        if client.balance_url:
            try:
                ledger = dispatch.BalanceLedger(expected=client.balance())
            except MpesaError as exc:
                _logger.info(
                    "Mpesa balance unavailable for manager %s: %s", self.id, exc
                )
        store = OdooDispatchStore(self, ledger)
        report = dispatch.dispatch(
            self._mpesa_iter_items(store, limit or self.mpesa_payments_per_run),
            client,
            store,
            max_attempts=self.mpesa_max_attempts or const.DEFAULT_MAX_ATTEMPTS,
            deadline=deadline,
            ledger=ledger,
        )
        if ledger is not None and ledger.expected is not None:
            # Written once per run, not per payment: the manager row is also
            # edited from the UI, and a write conflict must not cost a result.
            self.write(
                {
                    "mpesa_expected_balance": ledger.expected,
                    "mpesa_expected_balance_at": fields.Datetime.now(),
                }
            )
        result["counts"] = dict(report.counts)
        result["aborted"] = report.aborted
        result["more"] = report.stopped_by_deadline
        batches = self.env["g2p.payment.batch"].browse(store.batch_ids)
        batches._mpesa_refresh_figures()
        if report.aborted:
            self._mpesa_report_problem(report.aborted)
        elif self.mpesa_last_error:
            self.mpesa_last_error = False
        if report.processed:
            self._mpesa_post(
                _(
                    "Mpesa run: %(paid)s paid, %(failed)s failed, %(queued)s to retry "
                    "later, %(doubt)s in doubt.",
                    paid=report.counts.get(const.PAID, 0),
                    failed=report.counts.get(const.FAILED, 0),
                    queued=report.counts.get(const.QUEUED, 0),
                    doubt=report.counts.get(const.IN_DOUBT, 0),
                )
            )
        _logger.info("Mpesa manager %s run: %s", self.id, report.as_dict())
        self._mpesa_commit()

    # -------------------------------------------------------- reconciliation
    def _mpesa_reconcile_by_balance(self, payment):
        """Settle one in-doubt payment from the agent balance; returns a message."""
        self.ensure_one()
        if not payment.mpesa_balance_before_known:
            return _(
                "Payment %(name)s: the agent balance before its send is unknown; "
                "decide with the Reconcile wizard.",
                name=payment.name,
            )
        managers = self._mpesa_same_agent_managers()
        later = self.env["g2p.payment"].search(
            [
                ("batch_id.mpesa_manager_id", "in", managers.ids),
                ("mpesa_send_seq", ">", payment.mpesa_send_seq),
            ]
        )
        # Later deposits move the balance too: paid ones by their amount,
        # refused ones (4xx) not at all; anything else makes the delta useless.
        later = later.filtered(
            lambda p: p.mpesa_state != const.FAILED or p._mpesa_debited()
        )
        if later.filtered(lambda p: p.mpesa_state != const.PAID):
            return _(
                "Payment %(name)s: later deposits of this agent are not settled, "
                "so the "
                "balance cannot tell; decide with the Reconcile wizard.",
                name=payment.name,
            )
        amount = int(round(payment.amount_issued))
        expected_before = payment.mpesa_balance_before - sum(
            int(round(p.amount_paid)) for p in later
        )
        client = self._mpesa_client()
        try:
            with self._mpesa_agent_lock() as acquired:
                if not acquired:
                    return _(
                        "Payment %(name)s: a disbursement run is using this agent "
                        "right "
                        "now; try again in a minute.",
                        name=payment.name,
                    )
                actual = client.balance()
        except MpesaError as exc:
            return _(
                "Payment %(name)s: could not read the agent balance (%(problem)s).",
                name=payment.name,
                problem=str(exc),
            )
        finally:
            client.close()
        verdict = dispatch.BalanceLedger.classify(expected_before, actual, amount)
        store = OdooDispatchStore(self)
        if verdict == const.APPLIED:
            reason = _(
                "agent balance fell from %(before)s to %(now)s, exactly the amount",
                before=expected_before,
                now=actual,
            )
            store.apply_decision(payment, const.PAID, reason, amount=amount)
            message = _(
                "Payment %(name)s reconciled as PAID by %(user)s: %(reason)s.",
                name=payment.name,
                user=self.env.user.name,
                reason=reason,
            )
        elif verdict == const.NOT_APPLIED:
            settled_after = payment.mpesa_sent_at + timedelta(
                minutes=NOT_APPLIED_SETTLE_MINUTES
            )
            if fields.Datetime.now() < settled_after:
                # The gateway may still be processing a stalled request: an
                # early "failed" could be followed by the money moving anyway.
                return _(
                    "Payment %(name)s: not applied so far; check again after "
                    "%(when)s before deciding it failed.",
                    name=payment.name,
                    when=settled_after,
                )
            reason = _(
                "agent balance unchanged (%(now)s) since the send: the deposit was not "
                "applied",
                now=actual,
            )
            store.apply_decision(payment, const.FAILED, reason)
            message = _(
                "Payment %(name)s reconciled as FAILED by %(user)s: %(reason)s.",
                name=payment.name,
                user=self.env.user.name,
                reason=reason,
            )
        else:
            return _(
                "Payment %(name)s: the agent balance (%(now)s) does not match "
                "%(before)s "
                "or %(before)s minus %(amount)s; decide with the Reconcile wizard.",
                name=payment.name,
                now=actual,
                before=expected_before,
                amount=amount,
            )
        self.env["g2p.payment.batch"].browse(store.batch_ids)._mpesa_refresh_figures()
        self._mpesa_post(message)
        return message
