"""What the Daraja simulator says on the wire: paths, codes, faults, its certificate.

The simulator's own copies of Daraja's values (it plays the other side, so it
never imports them from the addon it tests).
"""

import datetime
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

TOKEN_PATH = "/oauth/v1/generate"
PAYMENT_PATH = "/mpesa/b2c/v3/paymentrequest"
STATUS_PATH = "/mpesa/transactionstatus/v1/query"
CONTROL_PATH = "/_sim/control"
TOKEN_TTL = 3599
COMMAND_IDS = ("BusinessPayment", "SalaryPayment", "PromotionPayment")
STATUS_COMMAND = "TransactionStatusQuery"
MIN_AMOUNT, MAX_AMOUNT = 10, 250000
BAD_REQUEST = "400.002.02"
INVALID_TOKEN = "401.002.01"
DUPLICATE = "500.002.1001"
SPIKE_ARREST = "500.003.02"
QUOTA = "500.003.03"
INTERNAL = "500.003.1001"
ERROR_CODES = (BAD_REQUEST, SPIKE_ARREST, QUOTA, INTERNAL)
RATE_CODES = (SPIKE_ARREST, QUOTA)
RESULT_CODES = {
    0: "The service request is processed successfully.",
    1: "The balance is insufficient for the transaction.",
    2: "Declined due to limit rule: less than the minimum transaction amount.",
    3: "Declined due to limit rule: greater than the maximum transaction amount.",
    4: "Declined due to limit rule: would exceed daily transfer limit.",
    8: "Declined due to limit rule: would exceed the maximum balance.",
    2001: "The initiator information is invalid.",
    2040: "Credit Party customer type (Unregistered or Registered Customer) "
    "can't be supported by the service.",
    8006: "The security credential is locked.",
}
FAULT_KINDS = (
    "latency",
    "timeout_after",
    "timeout_before",
    "drop_after",
    "error",
    "token_expiry",
    "rate_burst",
    "result_code",
    "queue_timeout",
    "lose_callback",
    "duplicate_callback",
    "delay_callback",
    "lose_status_result",
    "reverse",
    "status_pending",
)
PAYMENT_FIELDS = (
    "OriginatorConversationID",
    "InitiatorName",
    "SecurityCredential",
    "CommandID",
    "Amount",
    "PartyA",
    "PartyB",
    "Remarks",
    "QueueTimeOutURL",
    "ResultURL",
)
STATUS_FIELDS = (
    "Initiator",
    "SecurityCredential",
    "CommandID",
    "PartyA",
    "ResultURL",
    "QueueTimeOutURL",
)

# How the simulator answered one payment request (its request log).
ANSWER_ACCEPTED = "accepted"  # this request created the transaction
ANSWER_DUPLICATE = "duplicate"  # 500.002.1001: the OCID was known, nothing done
ANSWER_INVALID_TOKEN = "invalid_token"
ANSWER_RATE_LIMITED = "rate_limited"
ANSWER_BAD_REQUEST = "bad_request"
ANSWER_DROPPED = "dropped"  # stalled and dropped before anything was done
ANSWER_ERROR = "error"  # a simulated error, nothing done
# Refused before the transaction was looked at: says nothing about the OCID.
ANSWERS_NOT_PROCESSED = (
    ANSWER_INVALID_TOKEN,
    ANSWER_RATE_LIMITED,
    ANSWER_BAD_REQUEST,
    ANSWER_DROPPED,
    ANSWER_ERROR,
)


def make_certificate(common_name="M-Pesa simulator"):
    """(private key, self-signed certificate) standing in for Safaricom's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def error(code, message):
    return {
        "requestId": uuid.uuid4().hex[:20],
        "errorCode": code,
        "errorMessage": message,
    }


def status_of(code):
    return 429 if code in RATE_CODES else int(code.split(".")[0])


class Fault:
    """One injected fault; ``nth`` counts payment requests from 1."""

    def __init__(
        self, kind, nth=None, msisdn=None, times=1, delay=None, code=None, apply=None
    ):
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        if kind == "error" and code not in ERROR_CODES:
            raise ValueError(f"error faults need code in {ERROR_CODES}")
        if kind == "result_code" and int(code or 0) not in RESULT_CODES:
            raise ValueError(f"result_code faults need code in {sorted(RESULT_CODES)}")
        if kind == "rate_burst" and code is not None and code not in RATE_CODES:
            raise ValueError(f"rate_burst faults need code in {RATE_CODES}")
        if kind in ("lose_status_result", "status_pending") and nth is not None:
            raise ValueError(f"{kind} faults match by msisdn, not nth")
        self.kind = kind
        self.nth = None if nth is None else int(nth)
        self.msisdn = msisdn
        self.times = None if times is None else int(times)
        self.delay = 1.0 if delay is None else float(delay)
        self.code = code
        self.apply = bool(apply)
        self.fired = 0

    def matches(self, seq, msisdn):
        if self.times is not None and self.fired >= self.times:
            return False
        if self.nth is not None and self.nth != seq:
            return False
        return self.msisdn is None or self.msisdn == msisdn
