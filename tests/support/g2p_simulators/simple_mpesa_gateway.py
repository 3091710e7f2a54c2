"""What the simple-mpesa gateway answers: login, token check, deposit,
balance and mini statement, with its bodies and status codes.

``GatewayAnswers`` is the behaviour half of ``GatewayState`` (accounts,
faults and counters are in ``simple_mpesa_state``); every method takes the
state's one lock.  Tokens are HS256 JWTs like the real gateway's, signed
with the state's secret and tied to its token generation (so the control
API can expire every token at once).
"""

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timezone

DEFAULT_TOKEN_TTL = 6 * 3600
MIN_DEPOSIT = 10
CUSTOMER_TYPES = ("agent", "subscriber", "merchant")
LOGIN_TYPES = ("agent", "admin", "merchant", "subscriber")


def err(error, message, status):
    """An error body as simple-mpesa writes it."""
    return {"error": error, "message": message, "status": status}


def _validation_errors(missing):
    return [
        {
            "error": "Validation Error",
            "message": f"{k} is a required field",
            "status": 400,
        }
        for k in missing
    ]


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jwt_encode(claims, secret):
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    sig = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(sig)}"


def _jwt_decode(token, secret):
    try:
        header, payload, sig = token.split(".")
        expected = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256)
        if not hmac.compare_digest(_unb64(sig), expected.digest()):
            return None
        return json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None


class GatewayAnswers:
    """The gateway routes' behaviour (a mixin of ``GatewayState``)."""

    def login(self, user_type, fields):
        if user_type not in LOGIN_TYPES:
            return 404, None
        missing = [k for k in ("email", "password") if not fields.get(k)]
        if missing:
            return 400, _validation_errors(missing)
        with self.lock:
            agent = self.agents.get(fields["email"]) if user_type == "agent" else None
            if agent is None:
                return 400, err("could not process request", "user not found", 400)
            if not hmac.compare_digest(
                str(agent["password"]).encode(), str(fields["password"]).encode()
            ):
                return 401, err("unauthorized", "provided credentials are invalid", 401)
            now = self.clock()
            claims = {
                "userId": agent["user_id"],
                "userType": "agent",
                "iat": int(now),
                "exp": int(now + self.token_ttl),
                "gen": self.token_generation,
            }
            token = _jwt_encode(claims, self.secret)
            return 200, {
                "userId": agent["user_id"],
                "userType": "agent",
                "token": token,
            }

    def authenticate(self, header):
        """(agent email, None) or (None, error answer)."""
        if not header:
            return None, (
                401,
                err("unauthorized", "authorization header not set", 401),
            )
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, (
                401,
                err("unauthorized", "authentication token not set", 401),
            )
        claims = _jwt_decode(token.strip(), self.secret)
        expired = err("unauthorized", "token has expired or is invalid", 401)
        with self.lock:
            if (
                not claims
                or claims.get("exp", 0) <= self.clock()
                or claims.get("gen") != self.token_generation
            ):
                return None, (401, expired)
            for email, agent in self.agents.items():
                if agent["user_id"] == claims.get("userId"):
                    return email, None
        return None, (401, expired)

    def next_request(self):
        with self.lock:
            self.requests += 1
            return self.requests

    def validate_deposit(self, fields):
        """(amount, account, ctype) or an error answer (nothing applied)."""
        missing = [
            k for k in ("amount", "accountNo", "customerType") if not fields.get(k)
        ]
        if missing:
            return None, (400, _validation_errors(missing))
        raw = str(fields["amount"]).strip()
        if not raw.isdigit():
            return None, (
                400,
                err(
                    "could not process request",
                    "amount must be a whole positive number",
                    400,
                ),
            )
        ctype = str(fields["customerType"])
        if ctype not in CUSTOMER_TYPES:
            return None, (
                400,
                err("could not process request", "customer type not allowed", 400),
            )
        return (int(raw), str(fields["accountNo"]), ctype), None

    def apply_deposit(self, agent_email, amount, account, ctype):
        """Apply one deposit; return the answer (status, body)."""
        with self.lock:
            if amount < MIN_DEPOSIT:
                return 500, err(
                    "internal error",
                    f"cannot deposit amounts less than {MIN_DEPOSIT}",
                    500,
                )
            customer = self.customers.get(account)
            if customer is None and self.auto_register:
                self._add_customer(account, ctype, 0)
                customer = self.customers[account]
            if customer is None or customer["type"] != ctype:
                return 400, err("could not process request", "user not found", 400)
            if account in self.frozen:
                return 500, err(
                    "internal error", "couldn't access account. frozen", 500
                )
            agent = self.agents[agent_email]
            if agent["balance"] < amount:
                return 500, err(
                    "internal error",
                    f"cannot debit amount, account balance not enough. "
                    f"Amount: {amount} Balance: {agent['balance']}",
                    500,
                )
            before = agent["balance"]
            if not self.racy:
                agent["balance"] = before - amount
        if self.racy:
            # simple-mpesa reads, computes and writes the agent balance without
            # a lock: concurrent deposits by one agent lose debits.
            time.sleep(0.002)
            with self.lock:
                agent["balance"] = before - amount
        with self.lock:
            customer["balance"] += amount
            self.deposit_counts[account] = self.deposit_counts.get(account, 0) + 1
            now = datetime.now(timezone.utc).isoformat()
            self.deposits.append(
                {"seq": len(self.deposits) + 1, "account": account, "amount": amount}
            )
            txs = self.transactions.setdefault(agent["user_id"], [])
            txs.append(
                {
                    "transactionId": str(uuid.uuid4()),
                    "transactionType": "DEPOSIT",
                    "createdAt": now,
                    "creditedAmount": 0,
                    "debitedAmount": amount,
                    "userId": agent["user_id"],
                    "accountId": agent["user_id"],
                }
            )
            del txs[:-5]
            return 200, {
                "status": "success",
                "message": "Success",
                "data": {
                    "message": "Transaction under processing. "
                    "You will receive a message shortly."
                },
            }

    def balance(self, agent_email):
        with self.lock:
            agent = self.agents[agent_email]
            return 200, {
                "status": "success",
                "message": f"Your current balance is {agent['balance']}",
                "data": {"userID": agent["user_id"], "balance": agent["balance"]},
            }

    def statement(self, agent_email):
        with self.lock:
            agent = self.agents[agent_email]
            txs = list(reversed(self.transactions.get(agent["user_id"], [])))
            return 200, {
                "status": "success",
                "message": "Mini statement retrieved for the past 5 transactions",
                "data": {"userID": agent["user_id"], "transactions": txs or None},
            }
