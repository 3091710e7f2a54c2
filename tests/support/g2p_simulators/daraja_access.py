"""Who may call the Daraja simulator, and how often: token, credential, limits.

A mixin of :class:`g2p_simulators.daraja_state.DarajaState` (its attributes
live on the state, under the state's lock).
"""

import base64
import hmac
import secrets
from urllib.parse import parse_qs

from cryptography.hazmat.primitives.asymmetric import padding

from .daraja_codes import BAD_REQUEST, QUOTA, SPIKE_ARREST, error, status_of


class AccessMixin:
    def reset_access(self):
        self.token = None
        self.token_expires = 0.0
        self.tokens_issued = 0
        self.tokens_refused = 0  # token requests answered 429 during a burst
        self.rate_limited = 0
        self.wrong_credentials = 0
        self.burst_until = 0.0
        self.burst_code = SPIKE_ARREST
        self.burst_token = True
        self.burst_log = []  # (start, end) of each burst, on the state's clock
        self._recent.clear()

    # -- SecurityCredential --------------------------------------------------------
    def credential_for(self, password=None):
        """A valid SecurityCredential (as a client computes it)."""
        secret = (password or self.initiator_password).encode()
        data = self.certificate.public_key().encrypt(secret, padding.PKCS1v15())
        return base64.b64encode(data).decode()

    def decrypt_credential(self, credential):
        """The password inside a SecurityCredential, or None."""
        try:
            raw = base64.b64decode(credential, validate=True)
            return self.private_key.decrypt(raw, padding.PKCS1v15()).decode()
        except (ValueError, TypeError):
            return None

    def _credential_code(self, initiator, credential):
        """0, 2001 (wrong) or 8006 (locked); counts wrong attempts."""
        with self.lock:
            if self.wrong_credentials >= self.lock_after:
                return 8006
            password = self.decrypt_credential(credential)
            if initiator == self.initiator_name and password == self.initiator_password:
                return 0
            self.wrong_credentials += 1
            return 2001

    # -- token ---------------------------------------------------------------------
    def expire_token(self):
        """The current token stops working (as when Daraja revokes it early)."""
        with self.lock:
            self.token = None

    def issue_token(self, authorization, query):
        if parse_qs(query).get("grant_type") != ["client_credentials"]:
            return 400, error(BAD_REQUEST, "Invalid grant type passed")
        scheme, _sep, value = (authorization or "").partition(" ")
        try:
            key, _sep, secret = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            key = secret = ""
        ok = scheme.lower() == "basic" and hmac.compare_digest(
            f"{key}:{secret}", f"{self.consumer_key}:{self.consumer_secret}"
        )
        if not ok:
            return 400, error(BAD_REQUEST, "Invalid Authentication passed")
        with self.lock:
            # Spike arrest guards every proxy of the app, OAuth included.
            if self.burst_token and self._in_burst():
                self.tokens_refused += 1
                self.rate_limited += 1
                return status_of(self.burst_code), error(
                    self.burst_code, "Spike arrest violation"
                )
            # One valid token per consumer key: a new one replaces the old.
            self.token = secrets.token_urlsafe(24)
            self.token_expires = self.clock() + self.token_ttl
            self.tokens_issued += 1
            return 200, {
                "access_token": self.token,
                "expires_in": str(int(self.token_ttl)),
            }

    def authorised(self, authorization):
        scheme, _sep, token = (authorization or "").partition(" ")
        with self.lock:
            return (
                scheme.lower() == "bearer"
                and self.token is not None
                and hmac.compare_digest(token.strip(), self.token)
                and self.clock() < self.token_expires
            )

    # -- rate limits -----------------------------------------------------------------
    def rate_burst(self, seconds, code=SPIKE_ARREST, token=True):
        """Answer every request 429 ``code`` for ``seconds`` (and the token)."""
        with self.lock:
            start = self.clock()
            self.burst_until = max(self.burst_until, start + float(seconds))
            self.burst_log.append((start, self.burst_until))
            self.burst_code = code
            self.burst_token = bool(token)

    def _in_burst(self):
        return self.clock() < self.burst_until

    def rate_limit(self):
        """An error answer when a limit is exceeded (the request counts anyway)."""
        with self.lock:
            if self._in_burst():
                self.rate_limited += 1
                return status_of(self.burst_code), error(
                    self.burst_code, "Spike arrest violation"
                )
            if self.spike_limit is None and self.quota is None:
                return None
            now = self.clock()
            self._recent.append(now)
            horizon = now - max(self.spike_window, self.quota_window)
            while self._recent and self._recent[0] < horizon:
                self._recent.popleft()
            if self.spike_limit is not None:
                recent = sum(1 for t in self._recent if t > now - self.spike_window)
                if recent > self.spike_limit:
                    self.rate_limited += 1
                    return status_of(SPIKE_ARREST), error(
                        SPIKE_ARREST, "Spike arrest violation"
                    )
            if self.quota is not None:
                recent = sum(1 for t in self._recent if t > now - self.quota_window)
                if recent > self.quota:
                    self.rate_limited += 1
                    return status_of(QUOTA), error(QUOTA, "Quota violation")
        return None
