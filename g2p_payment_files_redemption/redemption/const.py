"""Codes, states and limits of voucher redemption, spelled once.

Error codes are stable: devices and cashier pages key their messages on them.
"""

# Why a voucher cannot be paid (the ``code`` of a 4xx answer).
ERR_UNAUTHENTICATED = "DEVICE_UNAUTHENTICATED"  # 401: no, unknown or revoked key
ERR_UNKNOWN = "VOUCHER_UNKNOWN"  # 404: no voucher was issued with this code
ERR_FORGED = "VOUCHER_FORGED"  # 404: a signed code we did not sign (or altered)
ERR_NOT_FOR_POINT = "VOUCHER_NOT_FOR_THIS_POINT"  # 403: another program's voucher
ERR_EXPIRED = "VOUCHER_EXPIRED"  # 410
ERR_CANCELLED = "VOUCHER_CANCELLED"  # 410: its payment was cancelled or failed
ERR_ALREADY_REDEEMED = "VOUCHER_ALREADY_REDEEMED"  # 409, with when and where
ERR_TXN_REUSED = "TRANSACTION_ID_REUSED"  # 409: same id, different content
ERR_BAD_REQUEST = "BAD_REQUEST"  # 422: malformed body

# What a check answers when the voucher can be paid.
STATUS_PAYABLE = "payable"

# Redemption states: a claim synced from an offline point for a voucher
# already redeemed elsewhere is disputed (an officer decides), never dropped.
REDEMPTION_ACCEPTED = "accepted"
REDEMPTION_DISPUTED = "disputed"
REDEMPTION_REJECTED = "rejected"  # a dispute decided against the claim
MODE_ONLINE = "online"
MODE_OFFLINE = "offline"

# What a sync answers per item.
ITEM_ACCEPTED = "accepted"
ITEM_DISPUTED = "disputed"
ITEM_REFUSED = "refused"

# Limits of what a device may send.
MAX_CODE_LENGTH = 4096
MAX_TXN_ID_LENGTH = 64
MAX_SYNC_ITEMS = 500
ERR_BATCH_TOO_LARGE = "BATCH_TOO_LARGE"  # 413

# Device keys: "g2pr_<key id>_<secret>"; only a hash of the secret is stored.
KEY_PREFIX = "g2pr"
KEY_ID_BYTES = 6
KEY_SECRET_BYTES = 32
