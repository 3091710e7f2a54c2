"""The demo's Mpesa cycle walked in the browser, as an officer sees it.

Used by ``test_demo_browser.py``: Prepare, Send, one payment left in doubt
by the simulator, the cycle's progress and guidance, the in-doubt payment's
one status and its Reconcile, everyone paid, Mark Distributed, and the
manager form's Test Connection.  Every step asserts what is on the screen
(not only what the database holds) and leaves a screenshot.
"""

import time

import demo_data

CRON_XMLID = ("g2p_payment_simple_mpesa", "ir_cron_mpesa_disburse")
FORM = ".o_form_view .o_form_sheet"


class MpesaWalk:
    program = demo_data.MPESA_PROGRAM

    def __init__(self, browser, rpc, url, simulator, shots, open_form):
        self.browser = browser
        self.rpc = rpc
        self.url = url
        self.simulator = simulator
        self.shots = shots
        self._open_form = open_form
        self.cycle_id = rpc.call(
            "g2p.cycle", "search", [("program_id.name", "=", self.program)]
        )[0]

    # -- helpers --------------------------------------------------------------
    def shot(self, name):
        time.sleep(0.5)  # let notifications and the form settle
        self.browser.screenshot(self.shots / name)

    def open(self, model, res_id, shot):
        self._open_form(self.browser, self.url, model, res_id, shot)

    def open_cycle(self, shot):
        self.open("g2p.cycle", self.cycle_id, shot)
        return self.browser.text(".o_mpesa_cycle_status")

    def run_cron(self):
        # The test server has no cron thread: run it as "Run Manually" does.
        [row] = self.rpc.call(
            "ir.model.data",
            "search_read",
            [("module", "=", CRON_XMLID[0]), ("name", "=", CRON_XMLID[1])],
            ["res_id"],
        )
        self.rpc.call("ir.cron", "method_direct_trigger", [row["res_id"]])

    def shown(self, name):
        return self.browser.visible(f".o_form_statusbar button[name={name}]")

    def assert_one_status(self, expected):
        """The payment form shows one status: ours, not the base's bar or ribbon."""
        b = self.browser
        current = b.text(
            ".o_form_statusbar div[name=mpesa_state] .o_arrow_button_current"
        )
        assert current.strip().lower() == expected.lower(), current
        assert not b.visible(".o_form_statusbar div[name=state]")
        assert not b.visible(".ribbon")
        banner = b.text(".o_mpesa_status")
        assert banner.lower().startswith(expected.lower()), banner
        return banner

    # -- the walk -------------------------------------------------------------
    def walk(self):
        b = self.browser
        banner = self.open_cycle("21-mpesa-cycle.png")
        assert "approved entitlements. Click Prepare Payments" in banner, banner
        assert self.shown("prepare_payment") and not self.shown("send_payment")
        b.click("button[name=prepare_payment]")
        b.wait_for(
            "document.body.innerText.includes('Not sent yet:')",
            what="the cycle saying its payments wait for Send Payments",
        )
        assert self.shown("send_payment") and not self.shown("prepare_payment")
        payments = self.rpc.call(
            "g2p.payment",
            "search_read",
            [("cycle_id", "=", self.cycle_id)],
            ["partner_id", "account_number"],
            order="id",
        )
        assert len(payments) == demo_data.REGISTRANTS
        doubtful = payments[0]
        [partner] = self.rpc.call(
            "res.partner", "read", [doubtful["partner_id"][0]], ["email"]
        )
        # The gateway answers this deposit with a bare 500 and applies nothing.
        self.simulator.add_fault("status", status=500, account=partner["email"])
        b.click("button[name=send_payment]")
        b.wait_for(
            "document.body.innerText.includes('queued for disbursement')",
            what="the 'queued for disbursement' notification",
        )
        self.shot("22-mpesa-sent.png")
        self.run_cron()

        banner = self.open_cycle("23-mpesa-in-doubt-cycle.png")
        paid = demo_data.REGISTRANTS - 1
        assert f"{paid} of {demo_data.REGISTRANTS} payments paid" in banner, banner
        assert "In doubt: 1." in banner, banner
        assert "Check Agent Balance or" in banner, banner
        in_doubt = b.text(".o-form-buttonbox button[name=action_mpesa_open_in_doubt]")
        assert "1" in in_doubt and "In Doubt" in in_doubt, in_doubt
        assert not self.shown("send_payment")
        assert not self.shown("action_mpesa_mark_distributed")
        b.js(
            "[...document.querySelectorAll('.o_notebook .nav-link')]"
            ".find(a => a.innerText.includes('Payment Batches')).click()"
        )
        time.sleep(1)
        heads = b.text("div[name=payment_batch_ids] thead")
        assert "Dispatch" in heads and "Batch Has Started" not in heads, heads
        rows = b.text("div[name=payment_batch_ids] tbody")
        assert "Needs attention" in rows and "Done" in rows, rows
        self.shot("24-mpesa-batches.png")

        # The officer follows the In Doubt button to the one payment.
        b.click(".o_mpesa_cycle_status button[name=action_mpesa_open_in_doubt]")
        b.wait_for(
            "document.querySelectorAll('.o_list_view .o_data_row').length === 1",
            what="the list of the one in-doubt payment",
        )
        b.click(".o_list_view .o_data_row .o_data_cell")
        b.wait_for(f"!!document.querySelector('{FORM} .o_mpesa_status')")
        time.sleep(0.5)
        banner = self.assert_one_status("In doubt")
        assert "never re-sent on its own" in banner, banner
        assert self.shown("action_mpesa_check_balance")
        assert self.shown("action_mpesa_open_reconcile_wizard")
        self.shot("25-mpesa-in-doubt-payment.png")
        self.reconcile_send_again()
        self.run_cron()

        self.open("g2p.payment", doubtful["id"], "26-mpesa-paid-payment.png")
        banner = self.assert_one_status("Paid")
        assert partner["email"] in banner, banner
        sent_to = b.text("div[name=mpesa_account_no]")
        assert sent_to.strip() == partner["email"], sent_to
        if doubtful["account_number"]:
            # The bank account snapshot is not what Mpesa was paid to.
            assert doubtful["account_number"] not in b.text(FORM)

        banner = self.open_cycle("27-mpesa-cycle-paid.png")
        total = demo_data.REGISTRANTS
        assert f"{total} of {total} payments paid" in banner, banner
        assert "click Mark Distributed" in banner, banner
        assert not self.shown("prepare_payment") and not self.shown("send_payment")
        b.click("button[name=action_mpesa_mark_distributed]")
        b.wait_for(
            "document.body.innerText.includes('Nothing to do')",
            what="the distributed cycle",
        )
        self.shot("28-mpesa-cycle-distributed.png")
        [cycle] = self.rpc.call("g2p.cycle", "read", [self.cycle_id], ["state"])
        assert cycle["state"] == "distributed", cycle
        self.look_at_manager()

    def reconcile_send_again(self):
        b = self.browser
        b.click("button[name=action_mpesa_open_reconcile_wizard]")
        b.click(".modal input[data-value=retry]")
        b.type_into(
            ".modal div[name=reason] textarea",
            "Gateway statement shows no deposit for this payee",
        )
        time.sleep(0.3)
        b.click(".modal button[name=action_apply]")
        deadline = time.monotonic() + 30
        while self.rpc.call(
            "g2p.payment",
            "search_count",
            [("cycle_id", "=", self.cycle_id), ("mpesa_state", "=", "in_doubt")],
        ):
            assert time.monotonic() < deadline, "the reconcile wizard did not apply"
            time.sleep(0.3)

    def look_at_manager(self):
        b = self.browser
        [manager_id] = self.rpc.call(
            "g2p.program.payment.manager.simple.mpesa",
            "search",
            [("program_id.name", "=", demo_data.MPESA_PROGRAM)],
        )
        self.open(
            "g2p.program.payment.manager.simple.mpesa",
            manager_id,
            "29-mpesa-manager.png",
        )
        assert not self.shown("action_disburse_now"), "nothing is queued"
        in_doubt = b.text("button[name=action_open_in_doubt_payments]")
        assert "0" in in_doubt, in_doubt
        tags = b.text("div[name=batch_tag_ids]")
        assert "Everyone not matched by an earlier tag" in tags, tags
        b.click("button[name=action_mpesa_test_connection]")
        b.wait_for(
            "document.body.innerText.includes('The agent balance is')",
            what="the Test Connection notification",
        )
        self.shot("30-mpesa-test-connection.png")
        assert f"Login as {demo_data.AGENT_EMAIL} worked" in b.text(".o_notification")
