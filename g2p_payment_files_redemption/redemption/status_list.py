"""The IETF Token Status List (draft-ietf-oauth-status-list), issuer side.

One bit per voucher (``bits`` 1): 0 VALID, 1 INVALID (redeemed or cancelled).
Entry N is bit N of the array, least significant bit first in each byte; the
array is ZLIB-compressed and base64url-encoded (no padding) into ``lst``, and
the list is signed as a JWT of type ``statuslist+jwt``.
"""

import base64
import zlib

BITS = 1
VALID = 0
INVALID = 1
MEDIA_TYPE = "application/statuslist+jwt"
JWT_TYPE = "statuslist+jwt"
TTL_SECONDS = 300
LIST_ID = "1"


def encode(invalid_indices, size):
    """``lst`` of a list of ``size`` entries whose ``invalid_indices`` are 1."""
    array = bytearray((size + 7) // 8)
    for index in invalid_indices:
        array[index // 8] |= 1 << (index % 8)
    packed = zlib.compress(bytes(array), 9)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def decode(lst):
    """The byte array of an ``lst`` (for tests and the verifier)."""
    padded = lst + "=" * (-len(lst) % 4)
    return zlib.decompress(base64.urlsafe_b64decode(padded))


def status_at(array, index):
    return (array[index // 8] >> (index % 8)) & 1 if index // 8 < len(array) else VALID


def claims(uri, lst, issued_at, ttl=TTL_SECONDS):
    return {
        "sub": uri,
        "iat": int(issued_at),
        "exp": int(issued_at) + 2 * ttl,
        "ttl": ttl,
        "status_list": {"bits": BITS, "lst": lst},
    }


def reference(uri, index):
    """The claim a voucher carries to point at its entry."""
    return {"status": {"status_list": {"idx": index, "uri": uri}}}
