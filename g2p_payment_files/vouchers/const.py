"""Constants shared by the voucher modules (no Odoo)."""

# Key types accepted by keys.generate_private_key (JWK "kty" values).
KTY_RSA = "RSA"
KTY_EC = "EC"
KTY_OKP = "OKP"
KEY_TYPES = (KTY_RSA, KTY_EC, KTY_OKP)

RSA_SIZES = (2048, 3072, 4096)
RSA_DEFAULT_SIZE = 2048
RSA_PUBLIC_EXPONENT = 65537

EC_CURVE = "P-256"
OKP_CURVE = "Ed25519"

# JWS algorithm names (RFC 7518 / RFC 8037).
ALG_RS256 = "RS256"
ALG_ES256 = "ES256"
ALG_EDDSA = "EdDSA"
ALGORITHMS = (ALG_RS256, ALG_ES256, ALG_EDDSA)

# COSE algorithm identifiers (IANA COSE Algorithms registry).
COSE_ALG_BY_NAME = {ALG_ES256: -7, ALG_EDDSA: -8, ALG_RS256: -257}
COSE_NAME_BY_ALG = {v: k for k, v in COSE_ALG_BY_NAME.items()}

# COSE header labels (RFC 9052).
COSE_HEADER_ALG = 1
COSE_HEADER_KID = 4

# CBOR tags (RFC 8392 section 6, RFC 9052 section 2).
CBOR_TAG_CWT = 61
CBOR_TAG_COSE_SIGN1 = 18

# Registered CWT claim keys (RFC 8392 section 4); other claims keep text keys.
CWT_CLAIM_KEYS = {
    "iss": 1,
    "sub": 2,
    "aud": 3,
    "exp": 4,
    "nbf": 5,
    "iat": 6,
    "cti": 7,
}
CWT_CLAIM_NAMES = {v: k for k, v in CWT_CLAIM_KEYS.items()}

# Payload data types of a QR/barcode config.
DATA_TYPE_STRING = "string"
DATA_TYPE_JSON = "json"
DATA_TYPE_JWT = "jwt"
DATA_TYPE_CWT = "cwt"
DATA_TYPES = (DATA_TYPE_STRING, DATA_TYPE_JSON, DATA_TYPE_JWT, DATA_TYPE_CWT)
SIGNED_DATA_TYPES = (DATA_TYPE_JWT, DATA_TYPE_CWT)

# QR error-correction levels by letter.
ERROR_CORRECTION_LEVELS = ("L", "M", "Q", "H")
# Upstream stored the level as "0".."3", i.e. the python-qrcode constants
# ERROR_CORRECT_M=0, L=1, H=2, Q=3.  Map those codes to letters.
ERROR_CORRECTION_FROM_UPSTREAM = {"0": "M", "1": "L", "2": "H", "3": "Q"}
ERROR_CORRECTION_TO_UPSTREAM = {v: k for k, v in ERROR_CORRECTION_FROM_UPSTREAM.items()}

# python-qrcode picks the best of 8 masks by scoring each one, which is most of
# its encoding time.  Any mask yields a standard, decodable symbol; a fixed one
# makes encoding several times faster.
QR_DEFAULT_MASK_PATTERN = 2
