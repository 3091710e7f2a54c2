"""How the Daraja simulator posts results back: outbox or HTTP, lost, doubled, late.

A mixin of :class:`g2p_simulators.daraja_state.DarajaState`.  ``loss`` and
``duplicate`` are probabilities applied to every callback; ``callback_delay``
the seconds before an HTTP post (a ``delay`` per call overrides it);
``callback_router`` (url -> url) plays a load balancer in front of several
servers.  Every post is logged with its answer (``callback_log``).
"""

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

# Loopback only: never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
POST_TIMEOUT = 10


class CallbackMixin:
    def reset_callbacks(self):
        self.outbox = []
        self.callbacks_scheduled = 0  # HTTP posts started
        self.callbacks_sent = 0  # answered 2xx
        self.callbacks_failed = 0  # refused or not answered
        self.callbacks_duplicated = 0  # extra copies decided
        self.callbacks_lost = 0
        self.callback_errors = Counter()  # HTTP status or exception -> posts
        self.callback_log = []  # one dict per finished post

    def take_callbacks(self):
        with self.lock:
            out, self.outbox = self.outbox, []
            return out

    def deliver(self, url, body, delay=None, lossy=True):
        """Post ``body`` to ``url`` (or keep it in the outbox), maybe lost or twice.

        ``lossy``: subject to the random ``loss`` (payment results); status
        results are lost only by their own fault.
        """
        with self.lock:
            if lossy and self.loss and self.random.random() < self.loss:
                self.callbacks_lost += 1
                return
            copies = (
                2 if self.duplicate and self.random.random() < self.duplicate else 1
            )
            self.callbacks_duplicated += copies - 1
            if self.delivery == "outbox":
                self.outbox.extend([(url, body)] * copies)
                return
            self.callbacks_scheduled += copies
        wait = self.callback_delay if delay is None else float(delay)
        for _copy in range(copies):
            timer = threading.Timer(wait, self._post, (url, body, wait))
            timer.daemon = True
            timer.start()

    def _post(self, url, body, delay=0.0):
        router = self.callback_router
        target = router(url) if router else url
        request = urllib.request.Request(
            target,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        entry = {
            "ocid": _payment_ocid(body),
            "url": target,
            "kind": "timeout" if url.rstrip("/").endswith("timeout") else "result",
            "status": None,
            "answer": None,
            "delay": delay,  # seconds it waited before this post
            "at": time.time(),
        }
        try:
            with _OPENER.open(request, timeout=POST_TIMEOUT) as response:
                entry["status"] = response.status
                entry["answer"] = _result_desc(response.read())
        except urllib.error.HTTPError as exc:
            entry["status"] = exc.code
            entry["answer"] = _result_desc(exc.read()) or str(exc.reason)
        except OSError as exc:
            entry["answer"] = type(exc).__name__
        ok = entry["status"] is not None and 200 <= entry["status"] < 300
        with self.lock:
            self.callback_log.append(entry)
            if ok:
                self.callbacks_sent += 1
            else:
                self.callbacks_failed += 1
                self.callback_errors[str(entry["status"] or entry["answer"])] += 1

    def callbacks_done(self):
        """Posts finished (answered or not) out of those decided so far."""
        with self.lock:
            return self.callbacks_sent + self.callbacks_failed

    def callbacks_idle(self):
        """True when every HTTP post started so far has finished."""
        with self.lock:
            finished = self.callbacks_sent + self.callbacks_failed
            return self.callbacks_scheduled == finished


def _payment_ocid(body):
    """The OCID of the payment a callback is about: on top of a B2C result, in
    the parameters of a status result (whose top ids are the query's)."""
    result = body.get("Result") or {}
    params = (result.get("ResultParameters") or {}).get("ResultParameter") or []
    for item in params if isinstance(params, list) else [params]:
        if item.get("Key") in (
            "OriginatorConversationID",
            "Originator Conversation ID",
        ):
            return item.get("Value")
    return result.get("OriginatorConversationID")


def _result_desc(raw):
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        return None
    if isinstance(data, dict):
        return data.get("ResultDesc") or data.get("detail")
    return None
