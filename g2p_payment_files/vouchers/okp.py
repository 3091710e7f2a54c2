"""Ed25519 keys ("EdDSA", RFC 8037) for python-jose.

python-jose 3.x implements RSA, EC and HMAC keys but not OKP / EdDSA.  Its
extension point ``jose.jwk.register_key`` takes a ``jose.backends.base.Key``
subclass; the one here wraps a ``cryptography`` Ed25519 key so that
``jose.jwk.construct``, ``jose.jws.sign`` and ``Key.to_dict`` work for Ed25519
exactly as they do for RSA and P-256.  Registration happens on import and only
when the installed python-jose has no EdDSA key class of its own.

The standalone ``verify.py`` carries its own verify-only counterpart: it must
not import anything from this package.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from jose import jwk
from jose.backends.base import Key
from jose.exceptions import JWKError
from jose.utils import base64url_encode

from . import const

_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Ed25519Key(Key):
    """A python-jose key wrapping a ``cryptography`` Ed25519 key."""

    def __init__(self, key, algorithm):
        if algorithm != const.ALG_EDDSA:
            raise JWKError("Ed25519 keys sign with EdDSA, not %s" % algorithm)
        if not isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            raise JWKError("not an Ed25519 key: %s" % type(key).__name__)
        self._algorithm = algorithm
        self.prepared_key = key

    def is_public(self):
        return isinstance(self.prepared_key, ed25519.Ed25519PublicKey)

    def public_key(self):
        if self.is_public():
            return self
        return type(self)(self.prepared_key.public_key(), self._algorithm)

    def sign(self, msg):
        if self.is_public():
            raise JWKError("a public key cannot sign")
        return self.prepared_key.sign(msg)

    def verify(self, msg, sig):
        try:
            self.public_key().prepared_key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def to_pem(self):
        return self.public_key().prepared_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_dict(self):
        """The public JWK members (the private key is never exported)."""
        raw = self.public_key().prepared_key.public_bytes(*_RAW)
        return {
            "alg": self._algorithm,
            "kty": "OKP",
            "crv": const.OKP_CURVE,
            "x": base64url_encode(raw).decode("ascii"),
        }


if jwk.get_key(const.ALG_EDDSA) is None:
    jwk.register_key(const.ALG_EDDSA, Ed25519Key)
