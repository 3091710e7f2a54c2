#!/usr/bin/env python3
"""Voucher pipeline benchmark: this addon's vouchers/ package vs an upstream-style run.

For each payment: render the payload from a JSON template string, sign it,
draw the QR code as SVG, put it in a voucher HTML page and write one PDF file
per payment into a temporary folder.

  ours      key parsed once per batch (Signer), QR with a fixed mask drawn as
            one SVG path, all vouchers rendered by one wkhtmltopdf process per
            250 documents and split into one PDF per payment.
  baseline  the upstream pattern: python-jose RS256 with the PEM parsed on
            every call, ``qrcode.make(..., SvgPathImage)`` with default
            settings, one wkhtmltopdf process (pdfkit) per voucher.  It runs
            on ``--baseline-sample`` payments and is extrapolated.

Also prints payload lengths for RS256 JWT, ES256 JWT and ES256 CWT on the same
claims.  Prints numbers only; nothing is asserted.

    /work/venv/bin/python tests/bench/bench_vouchers.py [--count 1000]
        [--baseline-sample 40] [--variants rs256-jwt,es256-jwt,es256-cwt]
"""

import argparse
import base64
import importlib
import io
import json
import os
import resource
import string
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Same bare-package trick as tests/conftest.py: import vouchers without Odoo.
if "g2p_payment_files" not in sys.modules:
    _pkg = types.ModuleType("g2p_payment_files")
    _pkg.__path__ = [str(REPO / "g2p_payment_files")]
    sys.modules["g2p_payment_files"] = _pkg

codes = importlib.import_module("g2p_payment_files.vouchers.codes")
keys = importlib.import_module("g2p_payment_files.vouchers.keys")
payloads = importlib.import_module("g2p_payment_files.vouchers.payloads")
pdf = importlib.import_module("g2p_payment_files.vouchers.pdf")

ISSUER = "https://g2p.example.org"
VALIDITY = 90 * 86400
PDF_OPTIONS = {
    "page-size": "A6",
    "margin-top": "6mm",
    "margin-bottom": "6mm",
    "margin-left": "6mm",
    "margin-right": "6mm",
}
CLAIMS_TEMPLATE = string.Template(
    '{"payment_id": $payment_id, "registrant_id": $registrant_id,'
    ' "beneficiary": $beneficiary, "program": $program, "cycle": $cycle,'
    ' "amount": $amount, "currency": $currency}'
)
VOUCHER_HTML = string.Template(
    "<!DOCTYPE html><html><head><meta charset='utf-8'/><style>"
    "body{font-family:sans-serif;font-size:11pt}h1{font-size:14pt;margin:0 0 4mm}"
    ".amount{font-size:18pt;font-weight:bold}img.qr{width:60mm;height:60mm}"
    "</style></head><body><h1>Cash voucher $payment_id</h1>"
    "<p>$beneficiary<br/>$program, $cycle</p><p class='amount'>$amount $currency</p>"
    "<img class='qr' src='$qr'/></body></html>"
)
FIRST = ["Amina", "Brian", "Chebet", "David", "Esther", "Faith", "George", "Halima"]
LAST = ["Njeri", "Otieno", "Wanjiku", "Kamau", "Mutua", "Achieng", "Kiptoo", "Omondi"]


def make_payments(count):
    return [
        {
            "payment_id": "PAY/2026/%06d" % i,
            "registrant_id": "REG-%07d" % (1000 + i),
            "beneficiary": "%s %s %s" % (FIRST[i % 8], LAST[(i // 8) % 8], LAST[i % 7]),
            "program": "Cash Transfer 2026",
            "cycle": "Cycle 3 - November 2026",
            "amount": "%d.00" % (1500 + (i % 20) * 50),
            "currency": "KES",
        }
        for i in range(count)
    ]


def render_claims(payment):
    return CLAIMS_TEMPLATE.substitute({k: json.dumps(v) for k, v in payment.items()})


def voucher_html(payment, qr_uri):
    return VOUCHER_HTML.substitute(payment, qr=qr_uri)


def cpu_seconds():
    """CPU time of this process and of its waited-for children (wkhtmltopdf)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class Timer:
    def __init__(self):
        self.stages = {}

    def add(self, stage, seconds):
        self.stages[stage] = self.stages.get(stage, 0.0) + seconds


def run_ours(payments, pem, kid, data_type, out_dir, image="svg"):
    timer = Timer()
    start = time.perf_counter()
    t0 = time.perf_counter()
    signer = payloads.Signer.from_pem(pem, kid)  # once per batch
    timer.add("key", time.perf_counter() - t0)
    htmls = []
    now = int(time.time())
    for payment in payments:
        t0 = time.perf_counter()
        text = payloads.build_payload(
            data_type,
            render_claims(payment),
            signer=signer,
            issuer=ISSUER,
            validity_seconds=VALIDITY,
            now=now,
            cwt_prefix="G2P:" if data_type == "cwt" else "",
        )
        t1 = time.perf_counter()
        if image == "png":
            # The addon's default: PNG at (at most) 4 px per module.
            qr_uri = codes.png_data_uri(codes.qr_png(text, box_size=4))
        else:
            qr_uri = codes.svg_data_uri(codes.qr_svg(text))
        t2 = time.perf_counter()
        htmls.append(voucher_html(payment, qr_uri))
        timer.add("payload", t1 - t0)
        timer.add("qr", t2 - t1)
    t0 = time.perf_counter()
    pdfs = pdf.htmls_to_pdfs(htmls, PDF_OPTIONS)
    t1 = time.perf_counter()
    for payment, data in zip(payments, pdfs, strict=True):
        (out_dir / (payment["payment_id"].replace("/", "_") + ".pdf")).write_bytes(data)
    t2 = time.perf_counter()
    timer.add("pdf", t1 - t0)
    timer.add("write", t2 - t1)
    return time.perf_counter() - start, timer, len(list(out_dir.glob("*.pdf")))


def run_baseline(payments, pem, kid, out_dir):
    import pdfkit  # noqa: PLC0415 - baseline-only dependencies
    import qrcode  # noqa: PLC0415
    import qrcode.image.svg  # noqa: PLC0415
    from jose import jwt as jose_jwt  # noqa: PLC0415

    timer = Timer()
    start = time.perf_counter()
    for payment in payments:
        t0 = time.perf_counter()
        claims = json.loads(render_claims(payment))
        claims.update(iss=ISSUER, iat=int(time.time()))
        claims["exp"] = claims["iat"] + VALIDITY
        token = jose_jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})
        t1 = time.perf_counter()
        image = qrcode.make(
            data=token,
            version=None,
            error_correction=0,  # upstream "0" = ERROR_CORRECT_M
            box_size=10,
            border=4,
            image_factory=qrcode.image.svg.SvgPathImage,
        )
        buffer = io.BytesIO()
        image.save(buffer)
        qr_uri = (
            "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
        )
        t2 = time.perf_counter()
        data = pdfkit.from_string(
            voucher_html(payment, qr_uri), False, options=PDF_OPTIONS
        )
        t3 = time.perf_counter()
        (out_dir / (payment["payment_id"].replace("/", "_") + ".pdf")).write_bytes(data)
        t4 = time.perf_counter()
        timer.add("payload", t1 - t0)
        timer.add("qr", t2 - t1)
        timer.add("pdf", t3 - t2)
        timer.add("write", t4 - t3)
    return time.perf_counter() - start, timer, len(list(out_dir.glob("*.pdf")))


def qr_data_bits(text):
    alnum = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    if set(text) <= alnum:
        return 11 * (len(text) // 2) + 6 * (len(text) % 2)
    return 8 * len(text.encode("utf-8"))


def payload_lengths(payment, rsa_key, ec_key, kid):
    rendered = render_claims(payment)
    common = {"issuer": ISSUER, "validity_seconds": VALIDITY, "now": 1_800_000_000}
    rs = payloads.Signer(rsa_key, kid)
    es = payloads.Signer(ec_key, kid)
    rows = [
        ("RS256 JWT", payloads.build_payload("jwt", rendered, signer=rs, **common)),
        ("ES256 JWT", payloads.build_payload("jwt", rendered, signer=es, **common)),
        (
            "ES256 CWT",
            payloads.build_payload(
                "cwt", rendered, signer=es, cwt_prefix="G2P:", **common
            ),
        ),
    ]
    claims = payloads.build_claims(
        payloads.parse_json_object(rendered),
        issuer=ISSUER,
        validity_seconds=VALIDITY,
        now=common["now"],
    )
    claims_len = len(json.dumps(claims, separators=(",", ":"), ensure_ascii=False))
    return claims_len, [(name, text, len(codes.qr_matrix(text))) for name, text in rows]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="payments (ours)")
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=40,
        help="baseline vouchers actually timed, then extrapolated to --count",
    )
    parser.add_argument(
        "--variants",
        default="rs256-jwt,es256-cwt,es256-cwt-png",
        help="comma list of rs256-jwt, es256-jwt, es256-cwt (QR as SVG), each "
        "optionally with -png (QR as PNG, the addon's default)",
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    pdf.wkhtmltopdf_binary()  # fail early with the install hint

    payments = make_payments(args.count)
    kid = str(uuid.uuid4())  # upstream-style key-set name
    rsa_key = keys.generate_private_key("RSA", 2048)
    ec_key = keys.generate_private_key("EC")
    pems = {
        "RS256": keys.private_key_to_pem(rsa_key),
        "ES256": keys.private_key_to_pem(ec_key),
    }

    print(
        "Voucher pipeline: %d payments (JSON template -> signed payload -> QR SVG ->"
        % args.count
    )
    print("one PDF file per payment).  One run each; treat as rough.\n")

    results = []
    with tempfile.TemporaryDirectory(prefix="bench_vouchers_") as tmp:
        sample = payments[: max(1, min(args.baseline_sample, args.count))]
        runs = [("baseline RS256 JWT (upstream style)", "baseline", sample)]
        for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
            alg, data_type, *image = variant.split("-")
            label = "ours %s %s %s QR" % (
                alg.upper(),
                data_type.upper(),
                (image or ["svg"])[0].upper(),
            )
            runs.append((label, variant, payments))
        for name, variant, batch in runs:
            out = Path(tmp) / variant
            out.mkdir()
            print("... %s on %d vouchers" % (name, len(batch)), file=sys.stderr)
            cpu_start = cpu_seconds()
            if variant == "baseline":
                seconds, timer, files = run_baseline(batch, pems["RS256"], kid, out)
            else:
                alg, data_type, *image = variant.split("-")
                seconds, timer, files = run_ours(
                    batch, pems[alg.upper()], kid, data_type, out, *image
                )
            results.append(
                {
                    "name": name,
                    "n": len(batch),
                    "seconds": seconds,
                    "cpu": cpu_seconds() - cpu_start,
                    "timer": timer,
                    "files": files,
                }
            )

    base = results[0]
    base_rate = base["n"] / base["seconds"]
    base_cpu_rate = base["n"] / base["cpu"]
    columns = ("pipeline", "timed", "wall s", "voucher/s", "speed-up", "cpu s")
    columns += ("cpu x", "payload", "qr", "pdf", "write", "files")
    header = "%-36s %6s %8s %10s %9s %8s %7s %8s %6s %6s %6s %6s" % columns
    print(header)
    print("-" * len(header))
    for row in results:
        n = row["n"]
        rate = n / row["seconds"]
        stage_ms = [
            "%.1f" % (1000 * row["timer"].stages.get(stage, 0.0) / n)
            for stage in ("payload", "qr", "pdf", "write")
        ]
        print(
            "%-36s %6d %8.2f %10.1f %8.1fx %8.2f %6.1fx %8s %6s %6s %6s %6d"
            % (
                row["name"],
                n,
                row["seconds"],
                rate,
                rate / base_rate,
                row["cpu"],
                (n / row["cpu"]) / base_cpu_rate,
                *stage_ms,
                row["files"],
            )
        )
    print(
        "payload / qr / pdf / write: wall milliseconds per voucher.  cpu s: CPU time of"
        "\nthis process plus its children (wkhtmltopdf), less sensitive than wall time"
        "\nto other load on the machine; cpu x: speed-up on that basis."
    )
    print(
        "The baseline was timed on %d vouchers and extrapolated: %d vouchers would take"
        " ~%.0f s (%.2f vouchers/s)."
        % (base["n"], args.count, args.count / base_rate, base_rate)
    )
    try:
        load = "%.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        load = "n/a"
    print("Load average at the end: %s on %s CPU(s)." % (load, os.cpu_count()))

    claims_len, rows = payload_lengths(payments[0], rsa_key, ec_key, kid)
    print(
        "\nPayload size on the same claims (%d bytes of JSON incl. iss/iat/exp),"
        % claims_len
    )
    print("uuid kid as upstream; QR at error correction M:\n")
    header = "%-10s %7s %8s %10s %9s %9s %9s" % (
        "payload",
        "chars",
        "vs RS256",
        "QR bits",
        "vs RS256",
        "modules",
        "area",
    )
    print(header)
    print("-" * len(header))
    ref_chars, ref_bits, ref_modules = (
        len(rows[0][1]),
        qr_data_bits(rows[0][1]),
        rows[0][2],
    )
    for name, text, modules in rows:
        bits = qr_data_bits(text)
        print(
            "%-10s %7d %7.0f%% %10d %8.0f%% %9d %8.0f%%"
            % (
                name,
                len(text),
                100 * len(text) / ref_chars,
                bits,
                100 * bits / ref_bits,
                modules,
                100 * modules**2 / ref_modules**2,
            )
        )
    print(
        "\nchars: payload length; QR bits: data bits in the symbol (base45 CWT uses the"
        "\n5.5-bit alphanumeric mode, JWT the 8-bit byte mode); area: symbol area."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
