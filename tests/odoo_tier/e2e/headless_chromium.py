"""Headless Debian ``chromium`` driven over the DevTools protocol (stdlib only).

Chromium is started with ``--remote-debugging-pipe``: it reads protocol
messages on fd 3 and writes answers on fd 4, each a JSON text ended by NUL.
That needs no chromedriver, no websocket library and no TCP port.
"""

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


class BrowserError(Exception):
    pass


def find_chromium():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One headless browser with one page; ``call()`` sends a CDP command."""

    def __init__(self, binary=None, width=1400, height=1000, log_path=None):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError("no chromium binary (Debian: apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="g2p-chromium-")
        # Ours: write to_child_w, read from_child_r.  Chromium: fd 3 / fd 4.
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()

        def _child_fds():
            # Move both ends out of the way first, then onto 3 and 4.
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._log = open(log_path or os.devnull, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                self.binary,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_fds,  # noqa: PLW1509 - single-threaded test process
            pass_fds=(3, 4),
            start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.session_id = None
        self.events = []
        self._attach(width, height)

    # -- protocol ------------------------------------------------------------
    def _send(self, method, params=None, session=True):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session_id:
            message["sessionId"] = self.session_id
        os.write(self._to_child_w, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("chromium did not answer in time")
            if self.proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self.proc.returncode}")
            chunk = os.read(self._from_child_r, 1 << 16)
            if not chunk:
                raise BrowserError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def call(self, method, params=None, timeout=60, session=True):
        msg_id = self._send(method, params, session=session)
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == msg_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def _attach(self, width, height):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.call(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self.session_id = attached["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    # -- page helpers --------------------------------------------------------
    def goto(self, url):
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'")

    def js(self, expression, timeout=60):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if result.get("exceptionDetails"):
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details
            raise BrowserError(f"script failed: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=60, what=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.js(expression)
            except BrowserError:
                value = None
            if value:
                return value
            time.sleep(0.25)
        raise BrowserError(f"timed out waiting for {what or expression}")

    def click(self, selector, timeout=60):
        sel = json.dumps(selector)
        self.wait_for(
            f"(() => {{ const e = document.querySelector({sel});"
            " return !!(e && e.offsetParent !== null && !e.disabled); })()",
            timeout=timeout,
            what=f"a visible {selector}",
        )
        self.js(f"document.querySelector({sel}).click()")

    def visible(self, selector):
        """Whether an element matching ``selector`` is shown on the page."""
        sel = json.dumps(selector)
        return self.js(
            f"[...document.querySelectorAll({sel})].some(e => e.offsetParent !== null)"
        )

    def text(self, selector="body"):
        """The shown text of the first visible ``selector`` ('' if none)."""
        sel = json.dumps(selector)
        return self.js(
            f"([...document.querySelectorAll({sel})]"
            ".find(e => e.offsetParent !== null) || {innerText: ''}).innerText"
        )

    def type_into(self, selector, value):
        """Type ``value`` into an input or textarea as a person would."""
        sel, val = json.dumps(selector), json.dumps(value)
        self.click(selector)
        self.js(
            f"(() => {{ const e = document.querySelector({sel}); e.value = {val};"
            " e.dispatchEvent(new Event('input', {bubbles: true}));"
            " e.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))
        return path

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.call("Browser.close", session=False, timeout=5)
                except BrowserError:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for fd in (self._to_child_w, self._from_child_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._log.close()
            shutil.rmtree(self.profile, ignore_errors=True)
