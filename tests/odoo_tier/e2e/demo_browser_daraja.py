"""The demo's Daraja B2C cycle walked in the browser, as an officer sees it.

Used by ``test_demo_browser.py`` after the simple-mpesa walk: the demo's
Daraja program is created the way ``setup/demo.py`` creates it
(``demo_daraja.ensure``) against a Daraja simulator with the demo's
credentials.  The simulator keeps its result callbacks in its outbox, so the
officer sees the cycle *awaiting results* for as long as the test wants; the
test then posts them to Odoo's callback URLs over HTTP, as Daraja does, and
the cycle ends paid, each payment with its M-Pesa receipt, each phone with one
deposit in the simulator's ledger.
"""

import json
import urllib.request

import demo_daraja
import demo_data
from demo_browser_mpesa import MpesaWalk

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def daraja_simulator():
    """The demo's Daraja simulator, results kept in its outbox."""
    from g2p_simulators.daraja import DarajaSimulator  # noqa: PLC0415

    options = dict(demo_daraja.simulator_options(), delivery="outbox")
    return DarajaSimulator(**options)


def _post_json(url, body):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with _OPENER.open(request, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


class DarajaWalk(MpesaWalk):
    program = demo_data.DARAJA_PROGRAM

    def __init__(self, browser, rpc, url, simulator, shots, open_form):
        # The program as setup/demo.py makes it, pointed at this simulator.
        assert demo_daraja.ensure(rpc.call, simulator.base_url, url, log=print)
        super().__init__(browser, rpc, url, simulator, shots, open_form)

    def payments(self, fields):
        return self.rpc.call(
            "g2p.payment",
            "search_read",
            [("cycle_id", "=", self.cycle_id)],
            fields,
            order="id",
        )

    def open_payment(self, payment_id, shot):
        b = self.browser
        self.open("g2p.payment", payment_id, shot)
        b.js(
            "[...document.querySelectorAll('.o_notebook .nav-link')]"
            ".find(a => a.innerText.trim() === 'Mpesa').click()"
        )
        b.wait_for(
            "!!document.querySelector('div[name=daraja_ocid]')",
            what="the payment's Daraja B2C group",
        )
        self.shot(shot)
        return b.text(
            ".o_form_statusbar div[name=mpesa_state] .o_arrow_button_current"
        ).strip()

    def walk(self):
        """Returns the payments as they ended, with their receipts."""
        b = self.browser
        total = demo_data.REGISTRANTS
        banner = self.open_cycle("31-daraja-cycle.png")
        assert "approved entitlements. Click Prepare Payments" in banner, banner
        b.click("button[name=prepare_payment]")
        b.wait_for(
            "document.body.innerText.includes('Not sent yet:')",
            what="the Daraja cycle saying its payments wait for Send Payments",
        )
        b.click("button[name=send_payment]")
        b.wait_for(
            "document.body.innerText.includes('queued for disbursement')",
            what="the 'queued for disbursement' notification",
        )
        self.run_cron()

        # Daraja accepted every request; the results are in the outbox.
        banner = self.open_cycle("32-daraja-awaiting-results.png")
        assert f"0 of {total} payments paid" in banner, banner
        assert f"Awaiting result: {total} sent and accepted" in banner, banner
        assert "Nothing to do" in banner, banner
        first = self.payments(["id"])[0]["id"]
        current = self.open_payment(first, "33-daraja-payment-accepted.png")
        assert current == "Accepted, awaiting result", current
        assert len(b.text("div[name=daraja_ocid]").strip()) >= 20

        callbacks = self.simulator.take_callbacks()
        assert len(callbacks) == total, len(callbacks)
        for url, body in callbacks:
            assert url.startswith(self.url + "/apiv1mpesa/daraja/"), url
            status, ack = _post_json(url, body)
            assert (status, ack["ResultDesc"]) == (200, "Accepted"), (status, ack)

        current = self.open_payment(first, "34-daraja-payment-paid.png")
        assert current == "Paid", current
        payments = self.payments(["status", "daraja_receipt", "mpesa_account_no"])
        assert payments[0]["daraja_receipt"] in b.text("div[name=daraja_receipt]")
        banner = self.open_cycle("35-daraja-cycle-paid.png")
        assert f"{total} of {total} payments paid" in banner, banner
        assert "click Mark Distributed" in banner, banner
        return payments
