"""Constants of the Odoo side of g2p_payment_files.

Names the Odoo-free core also uses (data types, JWK key types, algorithms)
are spelled once, in ``vouchers/const.py``, and only re-used here.
"""

from .vouchers.const import (
    ALG_EDDSA,
    ALG_ES256,
    ALG_RS256,
    DATA_TYPE_CWT,
    DATA_TYPE_JSON,
    DATA_TYPE_JWT,
    DATA_TYPE_STRING,
    KTY_EC,
    KTY_OKP,
    KTY_RSA,
    SIGNED_DATA_TYPES,  # noqa: F401 (the models read it from here)
)

# odoo.conf option holding the passphrase that encrypts private keys at rest.
KEY_PASSPHRASE_OPTION = "g2p_payment_files_key_passphrase"

# Lifecycle of a crypto key set: active signs and is published; retired is
# still published (vouchers already printed keep verifying) but no longer
# signs; revoked is unpublished, so vouchers signed with it stop verifying.
KEY_STATUS_ACTIVE = "active"
KEY_STATUS_RETIRED = "retired"
KEY_STATUS_REVOKED = "revoked"
KEY_STATUS_SELECTION = [
    (KEY_STATUS_ACTIVE, "Active"),
    (KEY_STATUS_RETIRED, "Retired"),
    (KEY_STATUS_REVOKED, "Revoked"),
]
KEY_STATUSES_PUBLISHED = (KEY_STATUS_ACTIVE, KEY_STATUS_RETIRED)

KEY_TYPE_RSA = "rsa"
KEY_TYPE_EC = "ec"
KEY_TYPE_ED25519 = "ed25519"
KEY_TYPE_SELECTION = [
    (KEY_TYPE_EC, "EC P-256 (ES256)"),
    (KEY_TYPE_ED25519, "Ed25519 (EdDSA)"),
    (KEY_TYPE_RSA, "RSA (RS256)"),
]
# ES256 by default: ~15x faster to sign than RS256 and a much shorter
# signature, so the QR code is several versions smaller; every JOSE/COSE
# library verifies it.  RSA stays available for verifiers that need RS256.
KEY_TYPE_DEFAULT = KEY_TYPE_EC
# JWK "kty" per key type, as the vouchers package expects.
KTY_BY_KEY_TYPE = {
    KEY_TYPE_RSA: KTY_RSA,
    KEY_TYPE_EC: KTY_EC,
    KEY_TYPE_ED25519: KTY_OKP,
}
ALG_BY_KEY_TYPE = {
    KEY_TYPE_RSA: ALG_RS256,
    KEY_TYPE_EC: ALG_ES256,
    KEY_TYPE_ED25519: ALG_EDDSA,
}
RSA_SIZE_SELECTION = [("2048", "2048"), ("3072", "3072"), ("4096", "4096")]

KEY_USE_SELECTION = [("sig", "Signature"), ("enc", "Encryption")]
CERT_VALIDITY_DAYS = 3650

FILE_TYPE_SELECTION = [("pdf", "PDF"), ("csv", "CSV")]

CODE_TYPE_QRCODE = "qrcode"
CODE_TYPE_CODE128 = "code-128-barcode"
CODE_TYPE_SELECTION = [
    (CODE_TYPE_QRCODE, "QR code"),
    (CODE_TYPE_CODE128, "Code 128 Barcode"),
]
# A QR code goes in a voucher as a PNG by default: wkhtmltopdf draws an SVG
# one as thousands of vector operations (~4x the time and ~8x the bytes of
# the whole rest of a voucher page).
IMAGE_FORMAT_PNG = "png"
IMAGE_FORMAT_SVG = "svg"
# PNG pixels per QR module at most: wkhtmltopdf holds every decoded image of
# a run in memory (250 vouchers at 10 px/module: 1.2 GB); 4 px stays sharp
# in print at the usual 40-60 mm and keeps a run near 250 MB.
QR_PNG_MAX_BOX_SIZE = 4
IMAGE_FORMAT_SELECTION = [
    (IMAGE_FORMAT_PNG, "PNG (fast, small PDFs)"),
    (IMAGE_FORMAT_SVG, "SVG (vector)"),
]
DATA_TYPE_SELECTION = [
    (DATA_TYPE_STRING, "String"),
    (DATA_TYPE_JSON, "JSON"),
    (DATA_TYPE_JWT, "JWT"),
    (DATA_TYPE_CWT, "CWT"),
]
# Stored as upstream: "0".."3" are python-qrcode's ERROR_CORRECT_M, L, H, Q.
QR_ERROR_CORRECT_SELECTION = [
    ("0", "ERROR_CORRECT_M"),
    ("1", "ERROR_CORRECT_L"),
    ("2", "ERROR_CORRECT_H"),
    ("3", "ERROR_CORRECT_Q"),
]
# Base45 alphabet = QR alphanumeric mode: a prefix outside it would force the
# whole code into byte mode.
CWT_PREFIX_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
CWT_PREFIX_DEFAULT = "G2P:"

# JWKS answers may be cached this long by verifiers and proxies (seconds).
JWKS_MAX_AGE = 300

# Large cycles: vouchers are made by queue_job chunk jobs of this many
# payments, in parallel on every worker that takes jobs from the channel.
VOUCHER_CHUNK_SIZE_DEFAULT = 500
VOUCHER_CHANNEL = "root.g2p_payment_files"
CHUNK_STATE_PENDING = "pending"
CHUNK_STATE_DONE = "done"
CHUNK_STATE_FAILED = "failed"
CHUNK_STATE_CANCELLED = "cancelled"
CHUNK_STATE_SELECTION = [
    (CHUNK_STATE_PENDING, "Pending"),
    (CHUNK_STATE_DONE, "Done"),
    (CHUNK_STATE_FAILED, "Failed"),
    (CHUNK_STATE_CANCELLED, "Cancelled"),
]
# A chunk in one of these states has nothing left to do.
CHUNK_STATES_CLOSED = (CHUNK_STATE_DONE, CHUNK_STATE_CANCELLED)
# A chunk job started longer ago than this (seconds) whose worker died is
# queued again (OpenG2P's queue_job 17.0.1.0.x never requeues started jobs).
CHUNK_STALE_PARAM = "g2p_payment_files.voucher_chunk_stale_seconds"
CHUNK_STALE_SECONDS_DEFAULT = 600
# Context key: storage.file paths of a chunk go under this folder, so the
# files of an attempt that died before its commit can be found and removed.
STORAGE_PREFIX_CONTEXT = "g2p_payment_files_storage_prefix"
# Records rendered, stored and dropped from the cache at a time within one
# prepare run or chunk: a worker's peak memory follows this, not the chunk
# size (measured on the real base, 4,000 vouchers: chunks of 500 rendered at
# once peaked at 364 MiB per worker, chunks of 250 at 328 MiB).
VOUCHER_RENDER_SLICE = 250

# The payment manager model of this addon.
FILE_MANAGER_MODEL = "g2p.program.payment.manager.file"

# States of the bases' records, as both bases spell them.
ENTITLEMENT_STATE_APPROVED = "approved"
PAYMENT_STATE_ISSUED = "issued"
PAYMENT_STATUS_FAILED = "failed"

# What a voucher payment is issued with and keeps for good (its voucher is
# signed with them): a correction cancels the voucher and issues a new one.
PAYMENT_ISSUED_FIELDS = (
    "name",
    "entitlement_id",
    "cycle_id",
    "amount_issued",
    "payment_fee",
    "account_number",
    "currency_id",
)
# The vouchers of a payment are linked by the prepare run, never by hand.
PAYMENT_VOUCHER_FIELDS = ("qrcode_ids", "payment_file_ids")
# An entitlement's terms while a payment that is not failed pays them.
ENTITLEMENT_PAID_FIELDS = (
    "initial_amount",
    "transfer_fee",
    "partner_id",
    "cycle_id",
    "currency_id",
)
