"""Constants of the addon: every state, code and kind is spelled here once.

Shared by the Mpesa client, the dispatch engine and the Odoo models (which
import it as ``from ..mpesa import const``).  Nothing here imports Odoo.  The
gateway simulator keeps its own copies on purpose: it plays the other side of
the wire and must not agree with us by construction.
"""

# Payment dispatch states (persisted by the addon).
QUEUED = "queued"  # waiting to be sent (first time, or a retry is scheduled)
SENDING = "sending"  # durably marked before the request; found outside a run => crash
PAID = "paid"
FAILED = "failed"
IN_DOUBT = "in_doubt"  # may or may not have been paid: never re-sent automatically

STATES = (QUEUED, SENDING, PAID, FAILED, IN_DOUBT)
FINAL_STATES = frozenset({PAID, FAILED})

# Outcome kinds of one gateway request.
OK = "ok"
RETRYABLE = "retryable"  # the gateway certainly did not apply it
TERMINAL = "terminal"  # rejected for a reason that a retry will not fix
AMBIGUOUS = "ambiguous"  # may have been applied
OUTCOME_KINDS = (OK, RETRYABLE, TERMINAL, AMBIGUOUS)

# Results of reconciling an in-doubt deposit against the agent balance.
APPLIED = "applied"
NOT_APPLIED = "not_applied"
UNKNOWN = "unknown"

# Reconciling an in-doubt deposit from the balance: an unchanged balance proves
# "not applied" only once the gateway has certainly finished with the request.
TOO_EARLY = "too_early"
NOT_APPLIED_SETTLE_MINUTES = 10

# Customer types of the gateway (accountType of a deposit).
CUSTOMER_AGENT = "agent"
CUSTOMER_SUBSCRIBER = "subscriber"
CUSTOMER_MERCHANT = "merchant"
CUSTOMER_TYPES = (CUSTOMER_AGENT, CUSTOMER_SUBSCRIBER, CUSTOMER_MERCHANT)
DEFAULT_CUSTOMER_TYPE = CUSTOMER_SUBSCRIBER
MIN_DEPOSIT = 10  # simple-mpesa refuses deposits below 10 shillings
DEFAULT_MAX_ATTEMPTS = 5

# Retry back-off for retryable outcomes (seconds): base * 2 ** (attempt - 1).
BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0

# Token handling: simple-mpesa issues 6 h tokens; renew a little before expiry.
DEFAULT_TOKEN_TTL = 6 * 3600
TOKEN_RENEW_MARGIN = 60.0

# "status" of a gateway answer that reports an applied deposit.
GATEWAY_STATUS_SUCCESS = "success"

# Lower-cased fragments of gateway messages that identify a business refusal
# (the gateway answers some of them with HTTP 500).
BUSINESS_ERROR_MARKERS = (
    "cannot deposit amounts less than",
    "account balance not enough",
    "frozen",
    "user not found",
    "not allowed",
)

# Payee id kinds the addon offers (same keys as upstream's payee_id_type).
PAYEE_BANK_ACC_NO = "bank_acc_no"
PAYEE_BANK_ACC_IBAN = "bank_acc_iban"
PAYEE_PHONE = "phone"
PAYEE_EMAIL = "email"
PAYEE_REG_ID = "reg_id"
PAYEE_ID_TYPES = (
    PAYEE_BANK_ACC_NO,
    PAYEE_BANK_ACC_IBAN,
    PAYEE_PHONE,
    PAYEE_EMAIL,
    PAYEE_REG_ID,
)

# Codes of the base model g2p.payment that the addon writes or reads.
G2P_STATE_ISSUED = "issued"
G2P_STATE_SENT = "sent"
G2P_STATUS_PAID = "paid"
G2P_STATUS_FAILED = "failed"
G2P_ENTITLEMENT_APPROVED = "approved"

# Dispatch state of a batch, computed from the states of its payments.
BATCH_DRAFT = "draft"
BATCH_DUE = "due"
BATCH_IN_PROGRESS = "in_progress"
BATCH_DONE = "done"
BATCH_NEEDS_ATTENTION = "needs_attention"

# Decisions of the reconcile wizard, and the payment state each one sets.
DECISION_PAID = "paid"
DECISION_FAILED = "failed"
DECISION_RETRY = "retry"
DECISION_STATES = {
    DECISION_PAID: PAID,
    DECISION_FAILED: FAILED,
    DECISION_RETRY: QUEUED,
}

# Types of the web client's display_notification our buttons return.
NOTIFY_INFO = "info"
NOTIFY_SUCCESS = "success"
NOTIFY_WARNING = "warning"
NOTIFY_DANGER = "danger"

# Manager settings.
DEFAULT_API_TIMEOUT = 10  # seconds per request
MAX_API_TIMEOUT = 60
DEFAULT_PAYMENTS_PER_RUN = 200
# Preparing: entitlements per queued chunk job (whole batches; a batch larger
# than this is a job of its own), and per create() inside one run, after
# which the ORM cache is emptied so memory does not grow with the cycle.
DEFAULT_PREPARE_CHUNK_SIZE = 5000
PREPARE_CREATE_SLICE = 1000

# Scheduling.  The cron record (data/ir_cron_data.xml) that sends due batches.
CRON_XMLID = "g2p_payment_simple_mpesa.ir_cron_mpesa_disburse"
# First key of the two-int advisory lock: "MP" for Mpesa, so our locks never
# collide with other modules' advisory locks.
AGENT_LOCK_NAMESPACE = 0x4D50
# Share of the cron time limit one scheduled run may use (requests can overrun
# the deadline by one timeout), its bounds, and the budget of a button click.
CRON_BUDGET_SHARE = 0.5
CRON_BUDGET_MIN = 5.0
CRON_BUDGET_MAX = 60.0
UI_BUDGET_MAX = 20.0
# Payments claimed per query.  Each send still re-checks QUEUED atomically in
# the database (begin_send), so a claimed row whose lock ends with the first
# COMMIT of the chunk can never be sent twice.
CLAIM_CHUNK = 25

# ============================================================== Daraja B2C
# Everything specific to the Safaricom Daraja B2C gateway (mpesa/daraja_*.py,
# models/*daraja*.py).  The simulator keeps its own copies (other side of the wire).
GATEWAY_SIMPLE_MPESA = "simple-mpesa"
GATEWAY_DARAJA_B2C = "daraja-b2c"
GATEWAY_TYPES = (GATEWAY_SIMPLE_MPESA, GATEWAY_DARAJA_B2C)

# Payment dispatch state of a Daraja payment the gateway accepted and whose
# result callback is awaited (an added value of g2p.payment.mpesa_state).
DARAJA_ACCEPTED = "accepted"

# Paths under the Daraja host (the token path carries its own query string).
DARAJA_TOKEN_PATH = "/oauth/v1/generate?grant_type=client_credentials"
DARAJA_PAYMENT_PATH = "/mpesa/b2c/v3/paymentrequest"
DARAJA_STATUS_PATH = "/mpesa/transactionstatus/v1/query"

DARAJA_COMMAND_IDS = ("BusinessPayment", "SalaryPayment", "PromotionPayment")
DARAJA_DEFAULT_COMMAND_ID = "BusinessPayment"
DARAJA_STATUS_COMMAND_ID = "TransactionStatusQuery"
DARAJA_IDENTIFIER_SHORTCODE = "4"  # IdentifierType of PartyA in a status query
DARAJA_MIN_AMOUNT = 10
DARAJA_MAX_AMOUNT = 250000
DARAJA_REMARKS_MIN = 2
DARAJA_REMARKS_MAX = 100
DARAJA_MSISDN_PATTERN = r"^254[17]\d{8}$"
DARAJA_SHORTCODE_PATTERN = r"^\d{5,7}$"

# Synchronous error codes ({"requestId", "errorCode", "errorMessage"}).
DARAJA_ERR_BAD_REQUEST = "400.002.02"
DARAJA_ERR_INVALID_TOKEN = "401.002.01"
DARAJA_ERR_DUPLICATE = "500.002.1001"  # OriginatorConversationID already seen
DARAJA_ERR_SPIKE_ARREST = "500.003.02"
DARAJA_ERR_QUOTA = "500.003.03"
DARAJA_ERR_INTERNAL = "500.003.1001"
DARAJA_RATE_LIMIT_CODES = frozenset({DARAJA_ERR_SPIKE_ARREST, DARAJA_ERR_QUOTA})
DARAJA_RESPONSE_ACCEPTED = "0"

# Asynchronous results: ResultType of a QueueTimeOut callback, the success
# ResultCode, and the failure codes we can name (any other non-zero code is a
# failure described by its ResultDesc).
DARAJA_RESULT_SUCCESS = 0
DARAJA_RESULT_FAILURES = {
    1: "insufficient funds in the paying shortcode",
    2: "amount below the minimum",
    3: "amount above the maximum",
    4: "daily limit of the shortcode or the customer exceeded",
    8: "the customer's account would exceed its maximum balance",
    2001: "invalid initiator information (initiator name or password)",
    2040: "the receiver is not a registered M-Pesa customer",
    8006: "the initiator's security credential is locked",
}
# Kinds of callback (path segment) and what a result says about the payment.
DARAJA_CALLBACK_RESULT = "result"
DARAJA_CALLBACK_TIMEOUT = "timeout"
DARAJA_OUTCOME_PAID = "paid"
DARAJA_OUTCOME_FAILED = "failed"
DARAJA_OUTCOME_UNKNOWN = "unknown"
# Transaction Status results have their own callback paths (the query's ids
# are on top; the queried payment is described in ResultParameters).
DARAJA_CALLBACK_STATUS = "status"
DARAJA_CALLBACK_STATUS_TIMEOUT = "status-timeout"
DARAJA_CALLBACK_KINDS = (
    DARAJA_CALLBACK_RESULT,
    DARAJA_CALLBACK_TIMEOUT,
    DARAJA_CALLBACK_STATUS,
    DARAJA_CALLBACK_STATUS_TIMEOUT,
)
DARAJA_OUTCOME_REVERSED = "reversed"  # paid, then the money went back
DARAJA_OUTCOME_PENDING = "pending"  # not final yet: ask again later
DARAJA_OUTCOME_NOT_FOUND = "not_found"  # M-Pesa has no such transaction
# TransactionStatus words (lower-cased) and what they mean; any other word
# is read as pending, never as paid or failed.
DARAJA_STATUS_WORDS = {
    "completed": DARAJA_OUTCOME_PAID,
    "failed": DARAJA_OUTCOME_FAILED,
    "declined": DARAJA_OUTCOME_FAILED,
    "cancelled": DARAJA_OUTCOME_FAILED,
    "canceled": DARAJA_OUTCOME_FAILED,
    "expired": DARAJA_OUTCOME_FAILED,
    "reversed": DARAJA_OUTCOME_REVERSED,
    "pending": DARAJA_OUTCOME_PENDING,
}
# ResultParameter keys of a status result; the payment's own ids come spelled
# two ways (Safaricom's sample has spaces).
DARAJA_STATUS_KEY_STATUS = "TransactionStatus"
DARAJA_STATUS_KEY_RECEIPT = "ReceiptNo"
DARAJA_STATUS_KEY_AMOUNT = "Amount"
DARAJA_STATUS_KEY_FINALISED = "FinalisedTime"
DARAJA_STATUS_KEY_CREDIT_PARTY = "CreditPartyName"
DARAJA_STATUS_KEY_REASON = "ReasonType"
DARAJA_STATUS_KEYS_OCID = ("OriginatorConversationID", "Originator Conversation ID")
DARAJA_STATUS_KEYS_CONVERSATION = ("ConversationID", "Conversation ID")
# Result codes of a status query that refuse the QUERY (its credential), not
# the transaction: asked again later, never read as "no such transaction".
DARAJA_QUERY_REFUSED_CODES = frozenset({"2001", "8006"})
# "No such transaction" settles nothing until M-Pesa has certainly had time to
# record the request; then it was never taken and is sent again (same OCID).
DARAJA_ACCEPTANCE_WINDOW_MINUTES = 5
# Sends again after "no such transaction" before the payment is left in doubt.
DARAJA_MAX_RESENDS = 3
# ResultParameter keys we read.
DARAJA_KEY_AMOUNT = "TransactionAmount"
DARAJA_KEY_RECEIPT = "TransactionReceipt"
DARAJA_KEY_RECEIVER = "ReceiverPartyPublicName"
DARAJA_KEY_COMPLETED = "TransactionCompletedDateTime"

# Sending: threads per shortcode (HTTP only), token renewal margin, retry of
# an unanswered request (same OriginatorConversationID, so safe and quick).
DARAJA_DEFAULT_CONCURRENCY = 8
DARAJA_MAX_CONCURRENCY = 64
DARAJA_TOKEN_RENEW_MARGIN = 120.0
# How long a server waits for another one's renewal of the shared token
# beyond that renewal's HTTP timeouts (connect + read) before giving up.
DARAJA_TOKEN_LOCK_SLACK = 5.0
DARAJA_DEFAULT_TOKEN_TTL = 3599.0
DARAJA_RETRY_BASE = 5.0
DARAJA_RETRY_CAP = 600.0
# Rate limiting (spike arrest / quota): concurrency is halved and new sends
# pause, doubling per consecutive hit; each run of this many clean answers
# adds one thread back.
DARAJA_RATE_PAUSE = 0.5
DARAJA_RATE_PAUSE_CAP = 30.0
DARAJA_RECOVER_AFTER = 20
# Results: minutes to wait for the callback before a Transaction Status
# query, between queries, and queries before the payment is left in doubt.
DARAJA_DEFAULT_RESULT_MINUTES = 10
DARAJA_STATUS_RETRY_MINUTES = 10
DARAJA_MAX_STATUS_QUERIES = 5
# Daraja answers recorded per transaction, and the longest they wait for it
# (a lost group is safe: see models/daraja_send_store.py).
DARAJA_RESULT_FLUSH_SIZE = 64
DARAJA_RESULT_FLUSH_SECONDS = 0.5
DARAJA_STATUS_PER_RUN = 200
DARAJA_STATUS_CRON_XMLID = "g2p_payment_simple_mpesa.ir_cron_daraja_status"
# The callbacks' fastapi.endpoint app and root path; the per-manager secret
# is a path segment: <base>/<root>/daraja/<secret>/result | /timeout.
DARAJA_FASTAPI_APP = "mpesa_callbacks"
DARAJA_CALLBACK_ROOT = "/apiv1mpesa"
DARAJA_SECRET_BYTES = 32

# What a payment is issued with and keeps for good: what is paid is what was
# approved.  A correction cancels the payment and issues a new one.
PAYMENT_ISSUED_FIELDS = (
    "name",
    "entitlement_id",
    "cycle_id",
    "amount_issued",
    "payment_fee",
    "account_number",
    "currency_id",
)
# What the scheduled job, the callbacks and the officer's buttons move on (as
# server code); a user writing them directly could queue a paid payment again.
PAYMENT_DISPATCH_FIELDS = (
    "state",
    "status",
    "status_is_final",
    "status_datetime",
    "amount_paid",
    "payment_datetime",
    "batch_id",
)
# When the next try or status query is due: a settings administrator may
# bring it forward (it moves no money by itself); program roles may not.
PAYMENT_SCHEDULE_FIELDS = ("mpesa_next_attempt_at", "daraja_deadline")
# An entitlement's terms while a payment that is not failed pays them.
ENTITLEMENT_PAID_FIELDS = (
    "initial_amount",
    "transfer_fee",
    "partner_id",
    "cycle_id",
    "currency_id",
)

# Manager settings that choose each beneficiary's account: fixed while
# payments they chose for are on their way.
PAYEE_SETTINGS = ("payee_id_type", "reg_id_type_for_payee_id", "customer_type")
