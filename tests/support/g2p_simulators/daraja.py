"""A Safaricom Daraja B2C simulator (dev/test only; never shipped in an addon).

Plays the gateway's side of the wire with its own copies of every code:

* ``GET /oauth/v1/generate?grant_type=client_credentials`` (Basic auth) -> a
  token; a new token invalidates the previous one.
* ``POST /mpesa/b2c/v3/paymentrequest`` -> sync accept, or an error
  ``{"requestId", "errorCode", "errorMessage"}``; a repeated
  OriginatorConversationID is rejected with 500.002.1001 and changes nothing.
  The result is POSTed later to the ResultURL (or a QueueTimeOut to the
  QueueTimeOutURL), after ``callback_delay`` s, with configurable loss and
  duplication.
* ``POST /mpesa/transactionstatus/v1/query`` by OriginalConversationID,
  OriginatorConversationID or TransactionID -> sync ack carrying the query's
  own ids, then a status result in Safaricom's published shape POSTed to the
  query's ResultURL (see ``daraja_status``): Completed, Failed, Reversed or
  Pending; an unknown id answers a non-zero ResultCode (or, with
  ``not_found="sync"``, a synchronous 400.002.02).
* Rate limits: ``spike_limit`` requests per ``spike_window`` s (500.003.02) and
  ``quota`` requests per ``quota_window`` s (500.003.03), both HTTP 429;
  ``rate_burst(seconds)`` answers everything 429 for a while (the token
  endpoint too, unless ``token=False``).
* Business results: 1 insufficient funds, 2 below minimum, 3 above maximum,
  4 daily limit, 8 max customer balance, 2001 invalid initiator (the
  SecurityCredential is decrypted with the simulator's private key and
  compared with the initiator password), 2040 unregistered customer, 8006
  credential locked (after ``lock_after`` wrong credentials).
* A per-MSISDN ledger of deposits (``ledger()``) to prove exactly-once, and a
  request log (``requests_of(ocid)``): how each payment request was answered
  and, with a ``peer_tagger``, who sent it.

As a script (benchmarks, demos): ``python daraja.py --port 6800
[--latency-ms 20] [--delivery outbox]``; ``GET /_sim/ledger`` and
``GET /_sim/certificate`` read it, ``POST /_sim/control`` ``{"action":
"expire_token" | "rate_burst" (seconds) | "fault" (kind, options) | "reset"}``
drives it.

Callbacks go over HTTP (``delivery="http"``) or into an outbox that a test
drains with ``take_callbacks()`` (``delivery="outbox"``: Odoo TransactionCase
tests post them through the FastAPI test client).

Faults (``add_fault(kind, nth=, msisdn=, times=1, ...)``; ``nth`` counts
payment requests from 1): ``latency`` (sleep ``delay``), ``timeout_after``
(accept, then stall ``delay`` s before answering), ``timeout_before`` (stall,
drop, nothing accepted), ``drop_after`` (accept, drop the connection),
``error`` (answer ``code``: 400.002.02, 500.003.02, 500.003.03, 500.003.1001;
``apply=True`` accepts first), ``token_expiry`` (the current token stops
working), ``rate_burst`` (everything 429 for ``delay`` s from this request),
``result_code`` (the result carries failure ``code``), ``queue_timeout`` (a
QueueTimeOut instead of the result; still processed), ``lose_callback``,
``duplicate_callback``, ``delay_callback`` (the result comes ``delay`` s
late), ``lose_status_result`` (by ``msisdn``: status query results for it are
lost), ``reverse`` (paid, then reversed before the result is posted: only a
status query tells), ``status_pending`` (by ``msisdn``: status queries answer
Pending ``times`` times).

The code is split by responsibility: ``daraja_codes`` (wire values, faults),
``daraja_access`` (token, credential, limits), ``daraja_callbacks`` (result
delivery), ``daraja_status`` (status queries), ``daraja_state``
(transactions, ledger, request log) and
``daraja_http`` (routes, transport faults, the server).
"""

import argparse
import contextlib
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: the package's modules must be importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from g2p_simulators.daraja_codes import (  # noqa: E402
    ANSWER_ACCEPTED,
    ANSWER_DUPLICATE,
    ANSWER_RATE_LIMITED,
    ANSWERS_NOT_PROCESSED,
    BAD_REQUEST,
    COMMAND_IDS,
    DUPLICATE,
    ERROR_CODES,
    FAULT_KINDS,
    INTERNAL,
    INVALID_TOKEN,
    MAX_AMOUNT,
    MIN_AMOUNT,
    PAYMENT_PATH,
    QUOTA,
    RESULT_CODES,
    SPIKE_ARREST,
    STATUS_PATH,
    TOKEN_PATH,
    TOKEN_TTL,
    Fault,
    make_certificate,
)
from g2p_simulators.daraja_http import DarajaSimulator  # noqa: E402
from g2p_simulators.daraja_state import DarajaState  # noqa: E402

__all__ = [
    "ANSWERS_NOT_PROCESSED",
    "ANSWER_ACCEPTED",
    "ANSWER_DUPLICATE",
    "ANSWER_RATE_LIMITED",
    "BAD_REQUEST",
    "COMMAND_IDS",
    "DUPLICATE",
    "ERROR_CODES",
    "FAULT_KINDS",
    "INTERNAL",
    "INVALID_TOKEN",
    "MAX_AMOUNT",
    "MIN_AMOUNT",
    "PAYMENT_PATH",
    "QUOTA",
    "RESULT_CODES",
    "SPIKE_ARREST",
    "STATUS_PATH",
    "TOKEN_PATH",
    "TOKEN_TTL",
    "DarajaSimulator",
    "DarajaState",
    "Fault",
    "make_certificate",
    "main",
]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Daraja B2C simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6800)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--delivery", choices=("http", "outbox"), default="http")
    args = parser.parse_args(argv)
    sim = DarajaSimulator(latency=args.latency_ms / 1000.0, delivery=args.delivery)
    print(sim.start(args.host, args.port), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
