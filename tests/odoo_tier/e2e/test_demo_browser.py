"""The demo as a person sees it, in headless Chromium.

On a copy of the template database loaded with the demo data
(``setup/demo_data.py``), an officer logs in, opens the voucher program's
cycle, clicks Prepare Payments, opens a payment and its voucher file, and
downloads the voucher PDF and the batch's print run (4 vouchers per A4 sheet)
through the browser session.  The PDFs are rendered to PNG with ``pdftoppm``
(kept for a look by eye), their QR codes and barcodes are decoded with
``zbarimg`` and the payloads verify against the server's ``/jwks.json`` with
the offline verifier.  The signing key form and the voucher config form with
its Preview dialog are looked at too.  Then the Mpesa cycle is walked
(``demo_browser_mpesa``): prepare, send, one payment in doubt and reconciled,
everyone paid once, Mark Distributed, Test Connection; then the demo's Daraja
B2C cycle (``demo_browser_daraja``): prepare, send, awaiting results, the
result callbacks posted over HTTP, everyone paid once with a receipt.
Screenshots go to ``.work/screenshots/<base>/``.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from g2p_payment_files.vouchers import verify

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
# One directory per base: both tiers' screenshots stay side by side.
SCREENSHOTS = (
    REPO / ".work" / "screenshots" / (os.environ.get("G2P_E2E_BASE") or "standin")
)
sys.path.insert(0, str(REPO / "setup"))
sys.path.insert(0, str(HERE))

import demo_data  # noqa: E402
from demo_browser_daraja import DarajaWalk, daraja_simulator  # noqa: E402
from demo_browser_mpesa import MpesaWalk  # noqa: E402
from headless_chromium import Chromium, find_chromium  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (find_chromium() and shutil.which("pdftoppm") and shutil.which("zbarimg")),
    reason="needs Debian chromium, poppler-utils (pdftoppm) and zbar-tools (zbarimg)",
)

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _zbar(png, symbology):
    out = subprocess.run(
        ["zbarimg", "--raw", "-q", "-Sdisable", f"-S{symbology}.enable", str(png)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in out.stdout.splitlines() if line.strip()]


def _login(browser, url):
    browser.goto(f"{url}/web/login")
    browser.js(
        "document.querySelector('input[name=login]').value = 'admin';"
        "document.querySelector('input[name=password]').value = 'admin';"
    )
    browser.click("form button[type=submit]")
    browser.wait_for(
        "!!document.querySelector('.o_main_navbar')", what="the backend after login"
    )


def _open_form(browser, url, model, res_id, shot):
    # A new query string each time: a full page load, never a stale client view.
    stamp = time.monotonic_ns()
    browser.goto(f"{url}/web?t={stamp}#id={res_id}&model={model}&view_type=form")
    browser.wait_for(
        "!!document.querySelector('.o_form_view .o_form_sheet')",
        what=f"the {model} form",
    )
    browser.screenshot(SCREENSHOTS / shot)


@pytest.fixture
def simulator():
    sim = demo_data.simulator_server()
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def daraja():
    sim = daraja_simulator()
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def _wait_for_payments(browser, rpc, cycle_id, timeout=60):
    """Prepare answered (a notification) and every registrant has a payment.

    The notification texts are the base's own (they differ between the
    stand-in and the real base), so the payments are counted instead.
    """
    browser.wait_for(
        "!!document.querySelector('.o_notification')",
        what="the Prepare Payments notification",
    )
    deadline = time.monotonic() + timeout
    while True:
        count = rpc.call("g2p.payment", "search_count", [("cycle_id", "=", cycle_id)])
        if count >= demo_data.REGISTRANTS:
            return
        assert time.monotonic() < deadline, f"only {count} payments after {timeout} s"
        time.sleep(0.5)


def _download(browser, url_path):
    """The bytes at ``url_path``, fetched with the officer's browser session."""
    data = browser.js(
        f"fetch('{url_path}')"
        ".then(r => { if (!r.ok) throw new Error('HTTP ' + r.status);"
        " return r.arrayBuffer(); })"
        ".then(b => { let s = ''; const a = new Uint8Array(b);"
        " for (let i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);"
        " return btoa(s); })"
    )
    return base64.b64decode(data)


def _look_at_settings(browser, rpc, url):
    """The key form (JWKS URL, at-rest warning) and the voucher config's
    Preview: the officer's checks before printing."""
    [key] = rpc.call(
        "g2p.crypto.key.set",
        "search_read",
        [
            ("status", "=", "active"),
            ("program_id.name", "=", demo_data.VOUCHER_PROGRAM),
        ],
        ["priv_key_encrypted"],
    )
    _open_form(browser, url, "g2p.crypto.key.set", key["id"], "08-signing-key.png")
    text = browser.js("document.body.innerText")
    assert "/apiv1payment/jwks.json" in text
    assert key["priv_key_encrypted"] or "stored unencrypted" in text
    [config_id] = rpc.call(
        "g2p.payment.file.config", "search", [("name", "=", "Demo voucher")]
    )
    _open_form(
        browser, url, "g2p.payment.file.config", config_id, "09-voucher-config.png"
    )
    browser.click("button[name=action_preview_voucher]")
    browser.wait_for(
        "!!document.querySelector('.modal button[name=action_render]')",
        what="the Preview Voucher dialog",
    )
    time.sleep(0.5)
    browser.screenshot(SCREENSHOTS / "10-preview-dialog.png")
    browser.click(".modal button[name=action_render]")
    deadline = time.monotonic() + 60
    while True:
        previews = rpc.call(
            "g2p.payment.file.preview",
            "search_read",
            [("file_config_id", "=", config_id), ("file_name", "!=", False)],
            ["data", "file_name"],
        )
        if previews:
            break
        assert time.monotonic() < deadline, "the preview was not rendered"
        time.sleep(0.5)
    assert previews[0]["file_name"].endswith("-PREVIEW.pdf")
    preview = SCREENSHOTS / "voucher-preview.pdf"
    preview.write_bytes(base64.b64decode(previews[0]["data"]))
    assert preview.read_bytes().startswith(b"%PDF")
    _save_broken_template(browser, url, config_id)


def _save_broken_template(browser, url, config_id):
    """A broken voucher template is refused on save, naming its line."""
    _open_form(
        browser, url, "g2p.payment.file.config", config_id, "11-voucher-config.png"
    )
    browser.type_into(
        "div[name=body_string] textarea",
        '<div>\n  <p t-out="object.name +"/>\n</div>',
    )
    browser.click(".o_form_button_save")
    browser.wait_for(
        "!!document.querySelector('.o_dialog .modal-body')",
        what="the error dialog of the save",
    )
    time.sleep(0.5)
    browser.screenshot(SCREENSHOTS / "12-broken-template-refused.png")
    message = browser.js("document.querySelector('.o_dialog .modal-body').innerText")
    assert 'line 2: t-out="object.name +"' in message, message
    browser.click(".o_dialog .modal-footer button")
    browser.click(".o_form_button_cancel")


def _cycle_of(rpc, program):
    [cycle_id] = rpc.call("g2p.cycle", "search", [("program_id.name", "=", program)])
    return cycle_id


def test_demo_seen_in_a_browser_vouchers_verify_and_mpesa_pays_everyone_once(
    odoo_db, odoo_server_factory, rpc_factory, simulator, daraja
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    server = odoo_server_factory(odoo_db)
    rpc = rpc_factory(server, odoo_db)
    assert demo_data.load(rpc.call, simulator_url=simulator.base_url, log=print)
    cycle_id = _cycle_of(rpc, demo_data.VOUCHER_PROGRAM)
    browser = Chromium(log_path=str(SCREENSHOTS / "chromium.log"))
    try:
        _login(browser, server.url)
        _open_form(browser, server.url, "g2p.cycle", cycle_id, "01-cycle.png")
        browser.click("button[name=prepare_payment]")
        _wait_for_payments(browser, rpc, cycle_id)
        time.sleep(1)  # let the notification finish fading in
        browser.screenshot(SCREENSHOTS / "02-payments-prepared.png")

        payments = rpc.call(
            "g2p.payment",
            "search_read",
            [("cycle_id", "=", cycle_id)],
            ["name", "payment_file_ids", "amount_issued", "partner_id"],
        )
        assert len(payments) == demo_data.REGISTRANTS
        payment = payments[0]
        assert payment["payment_file_ids"], "the payment has no voucher file"
        _open_form(browser, server.url, "g2p.payment", payment["id"], "03-payment.png")
        assert payment["name"] in browser.js("document.body.innerText")

        # Open the voucher as a person does: click its row in the Files list.
        file_id = payment["payment_file_ids"][0]
        browser.click("div[name=payment_file_ids] .o_data_row .o_data_cell")
        browser.wait_for(
            "!!document.querySelector('.modal .o_form_view')",
            what="the voucher file dialog",
        )
        time.sleep(0.5)
        browser.screenshot(SCREENSHOTS / "04-voucher-file.png")
        assert ".pdf" in browser.js("document.querySelector('.modal').innerText")
        # An issued voucher cannot be renamed, replaced or cleared: nothing to
        # type into, no upload or clear button, and no Save.
        editable = browser.js(
            "document.querySelectorAll('.modal .o_form_view input:not([type=hidden]),"
            " .modal .o_form_view textarea, .modal .o_select_file_button,"
            " .modal .o_clear_file_button, .modal .o_form_button_save').length"
        )
        assert editable == 0, f"{editable} editable controls on the voucher file"
        # Download the PDF as the logged-in officer, through the browser session.
        voucher_pdf = _download(
            browser, f"/web/content/storage.file/{file_id}/data?download=true"
        )
        # The cycle's print runs: one PDF per batch of 25, 4 vouchers a sheet.
        [cycle] = rpc.call("g2p.cycle", "read", [cycle_id], ["voucher_print_run_ids"])
        assert len(cycle["voucher_print_run_ids"]) == 2, cycle
        print_run_pdf = _download(
            browser,
            "/web/content/storage.file/%s/data?download=true"
            % cycle["voucher_print_run_ids"][0],
        )
        _look_at_settings(browser, rpc, server.url)

        # Mpesa: the officer's walk through the cycle (see demo_browser_mpesa).
        walk = MpesaWalk(browser, rpc, server.url, simulator, SCREENSHOTS, _open_form)
        walk.walk()
        mpesa_cycle_id = walk.cycle_id
        statuses = rpc.call(
            "g2p.payment",
            "search_read",
            [("cycle_id", "=", mpesa_cycle_id)],
            ["status", "partner_id"],
        )
        daraja_payments = DarajaWalk(
            browser, rpc, server.url, daraja, SCREENSHOTS, _open_form
        ).walk()
    finally:
        browser.close()

    assert [s["status"] for s in statuses] == ["paid"] * demo_data.REGISTRANTS
    batches = rpc.call(
        "g2p.payment.batch",
        "search_read",
        [("cycle_id", "=", mpesa_cycle_id)],
        ["batch_has_completed"],
    )
    assert batches and all(b["batch_has_completed"] for b in batches), batches
    counts = simulator.deposit_counts()
    assert sorted(counts.values()) == [1] * demo_data.REGISTRANTS, counts
    assert simulator.balance_of(demo_data.AGENT_EMAIL) == (
        demo_data.AGENT_BALANCE - demo_data.REGISTRANTS * int(demo_data.AMOUNT)
    )
    # Daraja: every payment paid with its own receipt, every phone one deposit.
    assert [p["status"] for p in daraja_payments] == ["paid"] * demo_data.REGISTRANTS
    receipts = {p["daraja_receipt"] for p in daraja_payments}
    assert len(receipts) == demo_data.REGISTRANTS and all(receipts), receipts
    ledger = daraja.ledger()
    assert sorted(ledger) == sorted(p["mpesa_account_no"] for p in daraja_payments)
    assert set(ledger.values()) == {1}, ledger

    pdf = SCREENSHOTS / "voucher.pdf"
    pdf.write_bytes(voucher_pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    # 300 dpi: the Code-128 bars are too thin for zbar at screen resolution.
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "300",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(pdf),
            str(SCREENSHOTS / "voucher"),
        ],
        check=True,
    )
    png = SCREENSHOTS / "voucher-1.png"
    assert png.is_file()

    [payload] = _zbar(png, "qrcode")
    barcodes = _zbar(png, "code128")
    # The barcode labelled "Payment reference" carries all of it.
    assert barcodes == [payment["name"]]

    jwks_url = server.url + demo_data.jwks_path(rpc.call)
    with _OPENER.open(jwks_url, timeout=30) as resp:
        jwks = json.loads(resp.read())
    claims = verify.verify_payload(payload, jwks)
    assert claims["payment"] == payment["name"]
    assert claims["amount"] == payment["amount_issued"] == demo_data.AMOUNT
    assert claims["beneficiary"] == payment["partner_id"][1]
    # Every detail the voucher prints is signed, and so are its dates.
    [partner] = rpc.call("res.partner", "read", [payment["partner_id"][0]], ["phone"])
    assert claims["phone"] == partner["phone"]
    assert claims["national_id"].startswith("NID-")
    assert claims["program"] == demo_data.VOUCHER_PROGRAM
    assert claims["cycle"] == demo_data.VOUCHER_CYCLE
    assert claims["agency"] == demo_data.COMPANY_NAME
    assert claims["exp"] - claims["iat"] == demo_data.VOUCHER_VALIDITY_DAYS * 86400
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Valid until" in text and "KSh" in text and partner["phone"] in text

    # The print run's first sheet: four vouchers, each QR code verifying.
    run_pdf = SCREENSHOTS / "print-run.pdf"
    run_pdf.write_bytes(print_run_pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "1", str(run_pdf)]
        + [str(SCREENSHOTS / "print-run")],
        check=True,
    )
    sheet = SCREENSHOTS / "print-run-1.png"
    sheet_payloads = _zbar(sheet, "qrcode")
    assert len(sheet_payloads) == 4
    refs = {verify.verify_payload(p, jwks)["payment"] for p in sheet_payloads}
    assert refs == set(_zbar(sheet, "code128"))

    # A voucher whose payload was altered must not verify.
    head, body, sig = payload.split(".")
    claims_json = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    forged_claims = dict(json.loads(claims_json), amount=99999)
    forged_body = (
        base64.urlsafe_b64encode(json.dumps(forged_claims).encode())
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(verify.VerificationError):
        verify.verify_payload(f"{head}.{forged_body}.{sig}", jwks)
