"""The standalone offline verifier: verify_payload() and the verify.py CLI."""

import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import base45
import cbor2
import pytest

from g2p_payment_files.vouchers import keys, payloads, tokens, verify

VerificationError = verify.VerificationError
VERIFY_PY = Path(verify.__file__)
NOW = 1_800_000_000
TEMPLATE = '{"payment": "PAY/0007", "amount": "40.00", "currency": "KES"}'


@pytest.fixture(scope="module")
def signers():
    return {
        kty: payloads.Signer(keys.generate_private_key(kty), "kid-%s" % kty.lower())
        for kty in ("RSA", "EC", "OKP")
    }


@pytest.fixture(scope="module")
def jwks(signers):
    return {"keys": [keys.public_jwk(s.key, kid=s.kid) for s in signers.values()]}


def _payload(signer, data_type, validity=3600, prefix=""):
    return payloads.build_payload(
        data_type,
        TEMPLATE,
        signer=signer,
        issuer="https://g2p.example",
        validity_seconds=validity,
        now=NOW,
        cwt_prefix=prefix,
    )


@pytest.mark.parametrize("kty", ["RSA", "EC", "OKP"])
@pytest.mark.parametrize("data_type", ["jwt", "cwt"])
def test_valid_payload_verifies(signers, jwks, kty, data_type):
    claims = verify.verify_payload(_payload(signers[kty], data_type), jwks, now=NOW + 1)
    assert claims["payment"] == "PAY/0007"
    assert claims["iss"] == "https://g2p.example"
    assert claims["exp"] == NOW + 3600


@pytest.mark.parametrize("data_type", ["jwt", "cwt"])
def test_expired_payload_fails(signers, jwks, data_type):
    payload = _payload(signers["EC"], data_type, validity=60)
    assert verify.verify_payload(payload, jwks, now=NOW + 60)["exp"] == NOW + 60
    with pytest.raises(VerificationError, match="expired"):
        verify.verify_payload(payload, jwks, now=NOW + 61)
    assert verify.verify_payload(payload, jwks, now=NOW + 61, leeway=5)


def test_not_yet_valid_payload_fails(signers, jwks):
    template = '{"nbf": %d, "payment": "P"}' % (NOW + 100)
    token = payloads.build_payload("jwt", template, signer=signers["EC"], now=NOW)
    with pytest.raises(VerificationError, match="not valid before"):
        verify.verify_payload(token, jwks, now=NOW)


@pytest.mark.parametrize("data_type", ["jwt", "cwt"])
def test_unknown_kid_is_treated_as_revoked(signers, jwks, data_type):
    revoked = {"keys": [k for k in jwks["keys"] if k["kid"] != "kid-ec"]}
    payload = _payload(signers["EC"], data_type)
    with pytest.raises(VerificationError, match="revoked or is not published"):
        verify.verify_payload(payload, revoked, now=NOW)


@pytest.mark.parametrize("data_type", ["jwt", "cwt"])
def test_retired_key_still_verifies_while_published(signers, jwks, data_type):
    old = payloads.Signer(keys.generate_private_key("EC"), "kid-retired")
    printed_before_rotation = _payload(old, data_type)
    # After rotation the JWKS keeps the retired public key next to the new one.
    rotated = {"keys": jwks["keys"] + [keys.public_jwk(old.key, kid=old.kid)]}
    claims = verify.verify_payload(printed_before_rotation, rotated, now=NOW)
    assert claims["payment"] == "PAY/0007"


@pytest.mark.parametrize("kty", ["RSA", "EC", "OKP"])
def test_tampered_jwt_fails(signers, jwks, kty):
    head, body, sig = _payload(signers[kty], "jwt").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["amount"] = "4000.00"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    with pytest.raises(VerificationError, match="bad signature"):
        verify.verify_payload("%s.%s.%s" % (head, forged.decode(), sig), jwks, now=NOW)


@pytest.mark.parametrize("kty", ["RSA", "EC", "OKP"])
def test_tampered_cwt_fails(signers, jwks, kty):
    text = _payload(signers[kty], "cwt")
    sign1 = cbor2.loads(zlib.decompress(base45.b45decode(text))).value
    protected, unprotected, payload, signature = sign1.value
    claims = cbor2.loads(payload)
    claims["amount"] = "4000.00"
    forged = cbor2.dumps(
        cbor2.CBORTag(
            61, cbor2.CBORTag(18, [protected, {}, cbor2.dumps(claims), signature])
        )
    )
    forged_text = base45.b45encode(zlib.compress(forged)).decode()
    with pytest.raises(VerificationError, match="bad signature"):
        verify.verify_payload(forged_text, jwks, now=NOW)


def test_cwt_kid_swapped_in_unprotected_header_is_refused(signers, jwks):
    text = _payload(signers["EC"], "cwt")
    protected, _u, payload, signature = cbor2.loads(
        zlib.decompress(base45.b45decode(text))
    ).value.value
    bare = cbor2.dumps({1: -7})
    forged = cbor2.dumps(cbor2.CBORTag(18, [bare, {4: b"kid-ec"}, payload, signature]))
    with pytest.raises(VerificationError, match="kid must be in the protected header"):
        verify.verify_payload(base45.b45encode(zlib.compress(forged)).decode(), jwks)


def test_algorithm_confusion_is_refused(signers, jwks):
    # An HS256 token "signed" with the public RSA modulus must never pass.
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS256", "kid": "kid-rsa"}).encode()
    ).rstrip(b"=")
    token = header.decode() + ".eyJhIjoxfQ.c2ln"
    with pytest.raises(VerificationError, match="unsupported or unsafe algorithm"):
        verify.verify_payload(token, jwks)
    # An ES256 header against the RSA key is refused as well.
    es_token = tokens.sign_jwt({"a": 1}, signers["EC"].key, "kid-rsa")
    with pytest.raises(VerificationError, match="does not match key"):
        verify.verify_payload(es_token, jwks)


def test_wrong_prefix_and_garbage_fail_cleanly(signers, jwks):
    text = _payload(signers["EC"], "cwt", prefix="G2P:")
    with pytest.raises(VerificationError, match="does not start with 'HC1:'"):
        verify.verify_payload(text, jwks, cwt_prefix="HC1:")
    for junk in ("", "hello world", "eyJ.eyJ.", "%%%%"):
        with pytest.raises(VerificationError):
            verify.verify_payload(junk, jwks)
    assert issubclass(VerificationError, ValueError)


def test_zlib_bomb_is_refused(jwks):
    bomb = base45.b45encode(zlib.compress(b"\0" * (1024 * 1024))).decode()
    with pytest.raises(VerificationError, match="larger than"):
        verify.verify_payload(bomb, jwks)


def test_decode_cwt_exposes_parts_without_verifying(signers):
    text = _payload(signers["EC"], "cwt", prefix="HC1:")
    parts = verify.decode_cwt(text, prefix="HC1:")
    assert parts["tags"] == [61, 18]
    assert parts["kid"] == "kid-ec"
    assert parts["alg"] == "ES256"
    assert cbor2.loads(parts["protected_bytes"]) == {1: -7, 4: b"kid-ec"}
    assert parts["claims"]["payment"] == "PAY/0007"
    assert parts["raw_claims"][1] == "https://g2p.example"
    assert len(parts["signature"]) == 64


def _ed25519_jwks(private_key, kid, alg):
    jwk = keys.public_jwk(private_key, kid=kid)
    return {"keys": [dict(jwk, alg=alg)]}


def test_rfc9864_ed25519_spellings_are_accepted(signers):
    # Another issuer may use the fully specified "Ed25519" / -19 names.
    key = signers["OKP"].key
    jwks = _ed25519_jwks(key, "kid-ed", "Ed25519")
    head = base64.urlsafe_b64encode(b'{"alg":"Ed25519","kid":"kid-ed"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(b'{"payment":"P-19"}').rstrip(b"=")
    signing_input = head + b"." + body
    sig = base64.urlsafe_b64encode(key.sign(signing_input)).rstrip(b"=")
    token = (signing_input + b"." + sig).decode()
    assert verify.verify_payload(token, jwks)["payment"] == "P-19"
    protected = cbor2.dumps({1: -19, 4: b"kid-ed"})
    payload = cbor2.dumps({"payment": "P-19"})
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    sign1 = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    text = base45.b45encode(zlib.compress(sign1)).decode()
    assert verify.verify_payload(text, jwks)["payment"] == "P-19"


def test_pure_core_never_imports_the_verifier():
    code = (
        "import sys; sys.path.insert(0, %r); import conftest\n"
        "from g2p_payment_files.vouchers import codes, keys, payloads, pdf, tokens\n"
        "assert 'g2p_payment_files.vouchers.verify' not in sys.modules\n"
        % str(VERIFY_PY.parents[2] / "tests")
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


# --- CLI -------------------------------------------------------------------


def _cli(*args, stdin=None):
    # No proxy: the HTTP test serves the JWKS on 127.0.0.1.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(
        [sys.executable, str(VERIFY_PY), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def jwks_file(tmp_path_factory, jwks):
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps(jwks))
    return str(path)


def test_cli_valid_jwt_prints_claims_and_exits_0(signers, jwks_file):
    token = _payload(signers["OKP"], "jwt")
    result = _cli("--jwks", jwks_file, "--now", str(NOW), token)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["payment"] == "PAY/0007"


def test_cli_reads_cwt_from_stdin_with_prefix(signers, jwks_file):
    text = _payload(signers["RSA"], "cwt", prefix="G2P:")
    result = _cli(
        "--jwks",
        jwks_file,
        "--cwt-prefix",
        "G2P:",
        "--now",
        str(NOW),
        "-",
        stdin=text + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["amount"] == "40.00"


def test_cli_invalid_payload_exits_1(signers, jwks_file):
    token = _payload(signers["EC"], "jwt", validity=10)
    result = _cli("--jwks", jwks_file, "--now", str(NOW + 11), token)
    assert result.returncode == 1
    assert "expired" in result.stderr
    assert result.stdout == ""


def test_cli_usage_errors_exit_2(jwks_file, tmp_path):
    assert _cli("only-a-payload").returncode == 2
    missing = _cli("--jwks", str(tmp_path / "nope.json"), "x")
    assert missing.returncode == 2
    assert "cannot load JWKS" in missing.stderr


def test_cli_fetches_jwks_over_http(signers, jwks):
    body = json.dumps(jwks).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/jwks.json" % server.server_port
        result = _cli("--jwks", url, "--now", str(NOW), _payload(signers["EC"], "cwt"))
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["currency"] == "KES"


def test_verify_py_imports_nothing_from_the_package():
    source = VERIFY_PY.read_text()
    assert "from ." not in source
    assert "import odoo" not in source and "from odoo" not in source


def _status_list_file(
    tmp_path, signer, invalid, sub="https://g2p.example/statuslists/1"
):
    array = bytearray(4)
    for index in invalid:
        array[index // 8] |= 1 << (index % 8)
    lst = base64.urlsafe_b64encode(zlib.compress(bytes(array), 9)).rstrip(b"=").decode()
    claims = {
        "sub": sub,
        "iat": NOW,
        "ttl": 300,
        "status_list": {"bits": 1, "lst": lst},
    }
    path = tmp_path / "statuslist.jwt"
    path.write_text(signer.jwt(claims, typ="statuslist+jwt"))
    return str(path)


def test_status_list_refuses_spent_vouchers_and_passes_valid_ones(
    signers, jwks, tmp_path
):
    signer = signers["EC"]
    ref = {"status_list": {"idx": 5, "uri": "https://g2p.example/statuslists/1"}}
    claims = json.dumps({**json.loads(TEMPLATE), "status": ref})
    voucher = payloads.build_payload(
        "jwt", claims, signer=signer, issuer="https://g2p.example", now=NOW
    )
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(jwks))
    args = ["--jwks", str(jwks_file), "--now", str(NOW)]
    spent = _status_list_file(tmp_path, signer, {5})
    assert verify.main([*args, "--status-list", spent, voucher]) == 1
    valid = _status_list_file(tmp_path, signer, {4, 6})
    assert verify.main([*args, "--status-list", valid, voucher]) == 0
    other = _status_list_file(tmp_path, signer, set(), sub="https://elsewhere/1")
    assert verify.main([*args, "--status-list", other, voucher]) == 1
    # A voucher without an entry (issued before status lists) is not refused.
    old = _payload(signer, "jwt")
    assert verify.main([*args, "--status-list", spent, old]) == 0
