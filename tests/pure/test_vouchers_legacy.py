"""Vouchers already printed keep verifying.

``fixtures/legacy_*.json`` were signed by the hand-written JWS/COSE code that
python-jose and pycose replaced (RS256, ES256 and EdDSA; JWT and CWT with the
"G2P:" prefix; kids are RFC 7638 thumbprints).  They must pass the in-package
verifier, the standalone ``verify.py`` run from a bare copy, and checks that
share no code with either (joserfc; RFC 9052 Sig_structure by hand).  The
JWKS also pins the JWK export and thumbprint.
"""

import base64
import json
import shutil
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256

from g2p_payment_files.vouchers import keys, verify

joserfc_jwt = pytest.importorskip("joserfc.jwt", reason="test requirement: joserfc")
from joserfc.jwk import KeySet  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
JWKS = json.loads((FIXTURES / "legacy_jwks.json").read_text(encoding="utf-8"))
LEGACY = json.loads((FIXTURES / "legacy_vouchers.json").read_text(encoding="utf-8"))
NOW = LEGACY["now"] + 60
PREFIX = LEGACY["cwt_prefix"]
IDS = ["%(data_type)s-%(alg)s" % v for v in LEGACY["vouchers"]]


def _b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key(jwk):
    """A cryptography public key from JWK members (RFC 7518 / RFC 8037)."""

    def number(name):
        return int.from_bytes(_b64(jwk[name]), "big")

    if jwk["kty"] == "RSA":
        return rsa.RSAPublicNumbers(number("e"), number("n")).public_key()
    if jwk["kty"] == "EC":
        curve = ec.SECP256R1()
        return ec.EllipticCurvePublicNumbers(
            number("x"), number("y"), curve
        ).public_key()
    return ed25519.Ed25519PublicKey.from_public_bytes(_b64(jwk["x"]))


def _jwk(kid):
    return next(k for k in JWKS["keys"] if k["kid"] == kid)


def test_fixtures_cover_every_algorithm_and_type():
    assert {(v["data_type"], v["alg"]) for v in LEGACY["vouchers"]} == {
        (data_type, alg)
        for data_type in ("jwt", "cwt")
        for alg in ("RS256", "ES256", "EdDSA")
    }


@pytest.mark.parametrize("voucher", LEGACY["vouchers"], ids=IDS)
def test_new_verifier_accepts_legacy_voucher(voucher):
    claims = verify.verify_payload(voucher["payload"], JWKS, now=NOW, cwt_prefix=PREFIX)
    assert claims == LEGACY["claims"]


@pytest.mark.parametrize("voucher", LEGACY["vouchers"], ids=IDS)
def test_legacy_voucher_passes_independent_check(voucher):
    jwk = _jwk(voucher["kid"])
    if voucher["data_type"] == "jwt":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc: "EdDSA" deprecated (RFC 9864)
            decoded = joserfc_jwt.decode(
                voucher["payload"],
                KeySet.import_key_set({"keys": [jwk]}),
                algorithms=[voucher["alg"]],
            )
        assert decoded.claims == LEGACY["claims"]
        return
    raw = zlib.decompress(base45.b45decode(voucher["payload"][len(PREFIX) :]))
    outer = cbor2.loads(raw)
    assert (outer.tag, outer.value.tag) == (61, 18)
    protected, _unprotected, payload, signature = outer.value.value
    assert cbor2.loads(protected)[4] == voucher["kid"].encode()
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    key = _public_key(jwk)
    if voucher["alg"] == "RS256":
        key.verify(signature, to_be_signed, padding.PKCS1v15(), SHA256())
    elif voucher["alg"] == "ES256":
        r, s = signature[:32], signature[32:]
        der = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
        key.verify(der, to_be_signed, ec.ECDSA(SHA256()))
    else:
        key.verify(signature, to_be_signed)


def test_standalone_verifier_copy_accepts_legacy_vouchers(tmp_path):
    # A bare copy of the script, run isolated (-I: no PYTHONPATH, no script
    # dir on sys.path) from a directory holding nothing else of the repo.
    shutil.copy(Path(verify.__file__), tmp_path / "verify.py")
    shutil.copy(FIXTURES / "legacy_jwks.json", tmp_path / "jwks.json")
    for voucher in LEGACY["vouchers"]:
        done = subprocess.run(
            [
                sys.executable,
                "-I",
                "verify.py",
                "--jwks",
                "jwks.json",
                "--now",
                str(NOW),
                "--cwt-prefix",
                PREFIX,
                "-",
            ],
            input=voucher["payload"] + "\n",
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (voucher["alg"], done.stderr)
        assert json.loads(done.stdout) == LEGACY["claims"]


@pytest.mark.parametrize("jwk", JWKS["keys"], ids=[k["kty"] for k in JWKS["keys"]])
def test_jwk_export_and_thumbprint_are_unchanged(jwk):
    assert keys.jwk_thumbprint(jwk) == jwk["kid"]
    assert keys.public_jwk(_public_key(jwk)) == jwk
