"""Constants shared by the Mpesa client, the dispatch engine and the addon."""

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

CUSTOMER_TYPES = ("agent", "subscriber", "merchant")
MIN_DEPOSIT = 10  # simple-mpesa refuses deposits below 10 shillings
DEFAULT_MAX_ATTEMPTS = 5

# Retry back-off for retryable outcomes (seconds): base * 2 ** (attempt - 1).
BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0

# Token handling: simple-mpesa issues 6 h tokens; renew a little before expiry.
DEFAULT_TOKEN_TTL = 6 * 3600
TOKEN_RENEW_MARGIN = 60.0

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
PAYEE_ID_TYPES = ("bank_acc_no", "bank_acc_iban", "phone", "email", "reg_id")
