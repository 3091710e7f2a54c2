"""The Daraja simulator's books: transactions, faults, the ledger, the request log.

``DarajaState`` holds everything under one lock; the HTTP layer
(``daraja_http``) only parses requests and writes answers.  Token and limits
come from ``daraja_access``, callback delivery from ``daraja_callbacks``.
"""

import datetime
import random
import secrets
import threading
import time
import uuid
from collections import deque

from cryptography.hazmat.primitives import serialization

from .daraja_access import AccessMixin
from .daraja_callbacks import CallbackMixin
from .daraja_codes import (
    BAD_REQUEST,
    COMMAND_IDS,
    DUPLICATE,
    MAX_AMOUNT,
    MIN_AMOUNT,
    PAYMENT_FIELDS,
    RESULT_CODES,
    TOKEN_TTL,
    Fault,
    error,
    make_certificate,
)
from .daraja_status import StatusMixin


class DarajaState(AccessMixin, CallbackMixin, StatusMixin):
    """Accounts, token, transactions, faults and the ledger (one lock)."""

    def __init__(
        self,
        consumer_key="sim-key",
        consumer_secret="sim-secret",
        shortcode="600000",
        initiator_name="sim-initiator",
        initiator_password="Sim-Initiator-Pass1",
        balance=10_000_000,
        latency=0.0,
        callback_delay=0.0,
        loss=0.0,
        duplicate=0.0,
        delivery="http",
        registered=None,
        daily_limit=None,
        max_customer_balance=None,
        lock_after=3,
        spike_limit=None,
        spike_window=1.0,
        quota=None,
        quota_window=60.0,
        token_ttl=TOKEN_TTL,
        seed=None,
        clock=time.time,
        callback_router=None,
        peer_tagger=None,
        not_found="result",
    ):
        self.lock = threading.RLock()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.shortcode = str(shortcode)
        self.initiator_name = initiator_name
        self.initiator_password = initiator_password
        self.initial_balance = int(balance)
        self.latency = float(latency)
        self.callback_delay = float(callback_delay)
        self.loss = float(loss)
        self.duplicate = float(duplicate)
        if delivery not in ("http", "outbox"):
            raise ValueError("delivery is 'http' or 'outbox'")
        self.delivery = delivery
        self.registered = None if registered is None else set(registered)
        self.daily_limit = daily_limit
        self.max_customer_balance = max_customer_balance
        self.lock_after = int(lock_after)
        self.spike_limit = spike_limit
        self.spike_window = float(spike_window)
        self.quota = quota
        self.quota_window = float(quota_window)
        self.token_ttl = float(token_ttl)
        self.clock = clock
        self.random = random.Random(seed)
        # Tests' hooks: url -> url of each callback post; a connection's
        # client address -> who made it (recorded in the request log).
        self.callback_router = callback_router
        self.peer_tagger = peer_tagger
        if not_found not in ("result", "sync"):
            raise ValueError("not_found is 'result' or 'sync'")
        self.not_found = not_found
        self.private_key, self.certificate = make_certificate()
        self._recent = deque()
        self.reset()

    # -- setup / inspection ------------------------------------------------------
    def reset(self):
        with self.lock:
            self.balance = self.initial_balance
            self.transactions = {}
            self.by_receipt = {}
            self.deposit_counts = {}
            self.customer_balances = {}
            self.faults = []
            self.requests = 0
            self.reversals = 0
            self.reset_status()
            self.duplicates = 0
            self.in_flight = 0
            self.peak_in_flight = 0
            self.request_log = []
            self.reset_access()
            self.reset_callbacks()

    @property
    def certificate_pem(self):
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate_der(self):
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def add_fault(self, kind, **options):
        fault = Fault(kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def _take(self, kinds, seq, msisdn):
        with self.lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.matches(seq, msisdn):
                    fault.fired += 1
                    return fault
        return None

    def ledger(self):
        with self.lock:
            return dict(self.deposit_counts)

    def log_request(self, seq, peer, body, answer, status, started):
        """One line of the request log: how payment request ``seq`` was answered.

        ``started`` / ``ended``: when it arrived and when it was answered (or
        dropped), on the state's clock; ``peer``: who sent it (``peer_tagger``).
        """
        body = body or {}
        with self.lock:
            self.request_log.append(
                {
                    "seq": seq,
                    "peer": peer,
                    "ocid": str(body.get("OriginatorConversationID") or ""),
                    "msisdn": str(body.get("PartyB") or ""),
                    "answer": answer,
                    "status": status,
                    "started": started,
                    "ended": self.clock(),
                }
            )

    def requests_of(self, ocid=None):
        """The request log (of one OCID), in arrival order."""
        with self.lock:
            rows = list(self.request_log)
        rows.sort(key=lambda row: row["seq"])
        return [r for r in rows if ocid is None or r["ocid"] == ocid]

    # -- payment -------------------------------------------------------------------
    def validate_payment(self, body):
        missing = [k for k in PAYMENT_FIELDS if body.get(k) in (None, "")]
        if missing:
            return error(BAD_REQUEST, f"Invalid request: {', '.join(missing)} required")
        if body["CommandID"] not in COMMAND_IDS:
            return error(BAD_REQUEST, "Invalid CommandID")
        if str(body["PartyA"]) != self.shortcode:
            return error(BAD_REQUEST, "Invalid PartyA")
        msisdn = str(body["PartyB"])
        if not (
            len(msisdn) == 12 and msisdn.isdigit() and msisdn[:4] in ("2547", "2541")
        ):
            return error(BAD_REQUEST, "Invalid PartyB")
        if (
            not isinstance(body["Amount"], int | str)
            or not str(body["Amount"]).isdigit()
        ):
            return error(BAD_REQUEST, "Invalid Amount")
        if not 2 <= len(str(body["Remarks"])) <= 100:
            return error(BAD_REQUEST, "Invalid Remarks")
        return None

    def accept_payment(self, body, seq):
        """Record, process and schedule the result; return the sync answer."""
        ocid = str(body["OriginatorConversationID"])
        msisdn = str(body["PartyB"])
        amount = int(body["Amount"])
        with self.lock:
            if ocid in self.transactions:
                self.duplicates += 1
                return 500, error(DUPLICATE, "Duplicate OriginatorConversationID.")
            code = self._credential_code(
                body["InitiatorName"], body["SecurityCredential"]
            )
            fault = self._take(("result_code",), seq, msisdn)
            if code == 0 and fault is not None:
                code = int(fault.code)
            if code == 0:
                code = self._business_code(msisdn, amount)
            tx = {
                "ocid": ocid,
                "conversation_id": f"AG_{uuid.uuid4().hex[:20].upper()}",
                "transaction_id": secrets.token_hex(5).upper(),
                "msisdn": msisdn,
                "amount": amount,
                "code": code,
                "result_url": body["ResultURL"],
                "timeout_url": body["QueueTimeOutURL"],
            }
            if code == 0:
                self.balance -= amount
                self.customer_balances[msisdn] = (
                    self.customer_balances.get(msisdn, 0) + amount
                )
                self.deposit_counts[msisdn] = self.deposit_counts.get(msisdn, 0) + 1
            self.transactions[ocid] = tx
            self.by_receipt[tx["transaction_id"]] = tx
        if code == 0 and self._take(("reverse",), seq, msisdn):
            # Paid, then reversed before its result was posted: the money went
            # back, and only a Transaction Status query can tell.
            with self.lock:
                tx["reversed"] = True
                self.reversals += 1
                self.balance += amount
                self.customer_balances[msisdn] -= amount
                self.callbacks_lost += 1
        elif self._take(("queue_timeout",), seq, msisdn):
            self.deliver(tx["timeout_url"], self.timeout_body(tx))
        elif not self._take(("lose_callback",), seq, msisdn):
            copies = 2 if self._take(("duplicate_callback",), seq, msisdn) else 1
            late = self._take(("delay_callback",), seq, msisdn)
            for _copy in range(copies):
                self.deliver(
                    tx["result_url"],
                    self.result_body(tx),
                    delay=late.delay if late else None,
                )
        else:
            with self.lock:
                self.callbacks_lost += 1
        return 200, {
            "ConversationID": tx["conversation_id"],
            "OriginatorConversationID": ocid,
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        }

    def _business_code(self, msisdn, amount):
        if amount < MIN_AMOUNT:
            return 2
        if amount > MAX_AMOUNT:
            return 3
        if self.registered is not None and msisdn not in self.registered:
            return 2040
        paid = self.customer_balances.get(msisdn, 0)
        if self.daily_limit is not None and paid + amount > self.daily_limit:
            return 4
        if (
            self.max_customer_balance is not None
            and paid + amount > self.max_customer_balance
        ):
            return 8
        if self.balance < amount:
            return 1
        return 0

    def result_body(self, tx):
        result = {
            "ResultType": 0,
            "ResultCode": tx["code"],
            "ResultDesc": RESULT_CODES[tx["code"]],
            "OriginatorConversationID": tx["ocid"],
            "ConversationID": tx["conversation_id"],
            "TransactionID": tx["transaction_id"],
        }
        if tx["code"] == 0:
            when = datetime.datetime.now().strftime("%d.%m.%Y %H:%M:%S")
            result["ResultParameters"] = {
                "ResultParameter": [
                    {"Key": "TransactionAmount", "Value": tx["amount"]},
                    {"Key": "TransactionReceipt", "Value": tx["transaction_id"]},
                    {
                        "Key": "ReceiverPartyPublicName",
                        "Value": f"{tx['msisdn']} - Sim Customer",
                    },
                    {"Key": "TransactionCompletedDateTime", "Value": when},
                    {"Key": "B2CUtilityAccountAvailableFunds", "Value": self.balance},
                ]
            }
        return {"Result": result}

    @staticmethod
    def timeout_body(tx):
        return {
            "Result": {
                "ResultType": 1,
                "ResultCode": 1,
                "ResultDesc": "The service request timed out in the queue.",
                "OriginatorConversationID": tx["ocid"],
                "ConversationID": tx["conversation_id"],
                "TransactionID": "",
            }
        }
