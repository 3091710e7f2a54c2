# Cycle states (same codes as OpenG2P).
STATE_DRAFT = "draft"
STATE_TO_APPROVE = "to_approve"
STATE_APPROVED = "approved"
STATE_DISTRIBUTED = "distributed"
STATE_CANCELLED = "cancelled"
STATE_ENDED = "ended"

# Manager kinds understood by g2p.program.get_manager(); only payment
# managers exist in the stand-in, the numbers match OpenG2P.
MANAGER_ELIGIBILITY = 1
MANAGER_CYCLE = 2
MANAGER_PROGRAM = 3
MANAGER_ENTITLEMENT = 4
MANAGER_DEDUPLICATION = 5
MANAGER_NOTIFICATION = 6
MANAGER_PAYMENT = 7

ENTITLEMENT_STATES = [
    ("draft", "Draft"),
    ("pending_validation", "Pending Approval"),
    ("approved", "Approved"),
    ("trans2FSP", "Transferred to FSP"),
    ("rdpd2ben", "Redeemed/Paid to Beneficiary"),
    ("rejected1", "Rejected: Beneficiary didn't want the entitlement"),
    ("rejected2", "Rejected: Beneficiary account does not exist"),
    ("rejected3", "Rejected: Other reason"),
    ("cancelled", "Cancelled"),
    ("expired", "Expired"),
]

PAYMENT_STATES = [
    ("issued", "Issued"),
    ("sent", "Sent"),
    ("reconciled", "Reconciled"),
]

PAYMENT_STATUSES = [
    ("paid", "Paid"),
    ("failed", "Failed"),
]

DEFAULT_MAX_BATCH_SIZE = 500

# Upstream's thresholds (also class attributes of the default payment manager,
# as upstream): from this many approved entitlements Prepare runs as one
# queue_job, from this many batches Send runs as one queue_job per cycle.
MAX_PAYMENTS_FOR_SYNC_PREPARE = 200
MAX_BATCHES_FOR_SYNC_SEND = 50
