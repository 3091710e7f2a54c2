"""Exceptions of the Mpesa core.  Messages are meant for a program officer."""


class MpesaError(Exception):
    """Base class of every error raised by this package."""


class AmountError(MpesaError, ValueError):
    """An amount the gateway cannot take (fraction of a shilling, below minimum)."""


class PayeeError(MpesaError, ValueError):
    """A payee identifier (phone, email, account) that cannot be used."""


class ConfigError(MpesaError, ValueError):
    """The payment manager configuration is incomplete or wrong."""


class AuthError(MpesaError):
    """The gateway refused the configured credentials (fix the configuration)."""


class GatewayError(MpesaError):
    """The gateway could not be reached or answered something unexpected."""

    def __init__(self, message, http_status=None):
        super().__init__(message)
        self.http_status = http_status
