"""Voucher error classes.

``VoucherError`` and ``VerificationError`` live in ``verify.py`` because that
file must stay a standalone script (third-party imports only); they are
re-exported here so the rest of the package and the addon import every error
from one place.  All errors are ``ValueError`` subclasses.
"""

from .verify import VerificationError, VoucherError


class KeyMaterialError(VoucherError):
    """A key, passphrase, certificate or JWK is missing, malformed or unusable."""


class PayloadError(VoucherError):
    """A rendered payload is not what its data type requires."""


class RenderError(VoucherError):
    """An image or PDF could not be produced."""


__all__ = [
    "KeyMaterialError",
    "PayloadError",
    "RenderError",
    "VerificationError",
    "VoucherError",
]
