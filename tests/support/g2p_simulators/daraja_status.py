"""The Daraja simulator's Transaction Status query, in Safaricom's published shape.

A status result names the QUERY on top (its own OriginatorConversationID and
ConversationID, also given in the synchronous answer) and describes the
queried transaction in ``ResultParameters``: ``TransactionStatus``,
``ReceiptNo``, ``Amount``, ``FinalisedTime``, ``CreditPartyName`` and the
payment's own ids.  As Safaricom's samples do, the payment's ids are spelled
``OriginatorConversationID`` or ``Originator Conversation ID`` and values come
as numbers or as strings; the simulator alternates both, query after query.

Answers: ``Completed`` (paid), ``Failed`` (the B2C result code's reason),
``Reversed`` (``reverse`` fault: paid, then the money went back), ``Pending``
(``status_pending`` fault), and for an unknown transaction either a
synchronous 400 (``not_found="sync"``) or a result with a non-zero
ResultCode (``not_found="result"``, the default).
"""

import datetime
import uuid

from .daraja_codes import (
    BAD_REQUEST,
    RESULT_CODES,
    STATUS_COMMAND,
    STATUS_FIELDS,
    error,
)

# Not published by Safaricom for this case: any non-zero code will do, the
# client must read "not found" from the code not being 0, not from its value.
NOT_FOUND_CODE = 2032
NOT_FOUND_DESC = "The transaction could not be found."


class StatusMixin:
    """``status_query`` for :class:`DarajaState` (uses its lock, ledger, faults)."""

    not_found = "result"

    def reset_status(self):
        self.status_queries = 0
        self.status_answers = {}  # TransactionStatus word (or "not found") -> count

    def status_query(self, body):
        missing = [k for k in STATUS_FIELDS if body.get(k) in (None, "")]
        if missing or body.get("CommandID") != STATUS_COMMAND:
            return 400, error(
                BAD_REQUEST, f"Invalid request: {', '.join(missing) or 'CommandID'}"
            )
        with self.lock:
            self.status_queries += 1
            nth = self.status_queries
            tx = None
            for key in ("OriginalConversationID", "OriginatorConversationID"):
                tx = tx or self.transactions.get(str(body.get(key) or ""))
            tx = tx or self.by_receipt.get(str(body.get("TransactionID") or ""))
            code = self._credential_code(body["Initiator"], body["SecurityCredential"])
        today = datetime.date.today()
        query = {
            "OriginatorConversationID": f"{nth + 3200}-{416000 + nth}-1",
            "ConversationID": f"AG_{today:%Y%m%d}_{uuid.uuid4().hex[:20]}",
        }
        if tx is None and self.not_found == "sync":
            self._count_answer("not found")
            return 400, error(
                BAD_REQUEST, "Invalid OriginalConversationID / TransactionID"
            )
        if tx is None or code:
            self._count_answer("not found" if tx is None else f"error {code}")
            answer = self._status_error(query, code or NOT_FOUND_CODE)
        else:
            answer = self._status_found(query, tx, spaced=nth % 2 == 0)
        lost = tx is not None and self._take(
            ("lose_status_result",), None, tx["msisdn"]
        )
        if lost:
            with self.lock:
                self.callbacks_lost += 1
        else:
            self.deliver(body["ResultURL"], answer, lossy=False)
        return 200, dict(
            query,
            ResponseCode="0",
            ResponseDescription="Accept the service request successfully.",
        )

    def _count_answer(self, word):
        with self.lock:
            self.status_answers[word] = self.status_answers.get(word, 0) + 1

    @staticmethod
    def _status_error(query, code):
        return {
            "Result": dict(
                query,
                ResultType=0,
                ResultCode=code,
                ResultDesc=RESULT_CODES.get(code, NOT_FOUND_DESC),
                TransactionID="",
            )
        }

    def _status_word(self, tx):
        if tx["code"] != 0:
            return "Failed"
        if tx.get("reversed"):
            return "Reversed"
        if self._take(("status_pending",), None, tx["msisdn"]):
            return "Pending"
        return "Completed"

    def _status_found(self, query, tx, spaced):
        word = self._status_word(tx)
        self._count_answer(word)

        def value(v):
            # Safaricom's samples send numbers as numbers or as strings.
            return str(v) if spaced else v

        finalised = int(datetime.datetime.now().strftime("%Y%m%d%H%M%S"))
        ocid_key = (
            "Originator Conversation ID" if spaced else "OriginatorConversationID"
        )
        conv_key = "Conversation ID" if spaced else "ConversationID"
        params = [
            {"Key": "DebitPartyName", "Value": f"{self.shortcode} - Simulated Org"},
            {"Key": "CreditPartyName", "Value": f"{tx['msisdn']} - Sim Customer"},
            {"Key": ocid_key, "Value": tx["ocid"]},
            {"Key": "InitiatedTime", "Value": value(finalised)},
            {"Key": "DebitAccountType", "Value": "Utility Account"},
            {"Key": "DebitPartyCharges", "Value": "Fee For B2C Payment|KES|22.40"},
            {"Key": "TransactionReason"},
            {
                "Key": "ReasonType",
                "Value": RESULT_CODES[tx["code"]]
                if tx["code"]
                else "Business Payment to Customer via API",
            },
            {"Key": "TransactionStatus", "Value": word},
            {"Key": "FinalisedTime", "Value": value(finalised)},
            {"Key": "Amount", "Value": value(tx["amount"])},
            {"Key": conv_key, "Value": tx["conversation_id"]},
        ]
        if tx["code"] == 0:
            params.append({"Key": "ReceiptNo", "Value": tx["transaction_id"]})
        if spaced:
            params.reverse()
        return {
            "Result": dict(
                query,
                ResultType=value(0),
                ResultCode=value(0),
                ResultDesc=RESULT_CODES[0],
                TransactionID=f"{tx['transaction_id'][:3]}0000000",
                ResultParameters={"ResultParameter": params},
                ReferenceData={"ReferenceItem": {"Key": "Occasion"}},
            )
        }
