"""Voucher error classes; all are ``ValueError`` subclasses.

The standalone verifier ``verify.py`` has its own ``VerificationError``: it
must run without this package, and this package never imports it.
"""


class VoucherError(ValueError):
    """Base class of the voucher errors of this package."""


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
    "VoucherError",
]
