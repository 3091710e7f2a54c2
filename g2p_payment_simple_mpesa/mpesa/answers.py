"""Reading what the simple-mpesa gateway answered (no HTTP, no Odoo).

Token expiry, JSON bodies and their error messages, business refusals, and
whether a connection error happened before the request left this machine
(then nothing can have been paid).
"""

import base64
import json

from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .const import BUSINESS_ERROR_MARKERS


def jwt_exp(token):
    """``exp`` claim of a JWT, read without verifying (we are not the audience)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        exp = json.loads(base64.urlsafe_b64decode(payload)).get("exp")
        return float(exp) if exp is not None else None
    except (IndexError, ValueError, TypeError, AttributeError):
        return None


def json_body(response):
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, list):
        return {"errors": data}
    return data if isinstance(data, dict) else {"value": data}


def gateway_message(body, response=None):
    if body:
        if "errors" in body:
            return "; ".join(
                str(e.get("message", e)) if isinstance(e, dict) else str(e)
                for e in body["errors"]
            )
        for key in ("message", "error"):
            if body.get(key):
                return str(body[key])
    if response is not None:
        text = (response.text or "").strip()
        return text[:200] or f"HTTP {response.status_code}"
    return ""


def is_business_error(message):
    text = (message or "").lower()
    return any(marker in text for marker in BUSINESS_ERROR_MARKERS)


def nothing_sent(exc):
    """True when a ConnectionError happened before the request left (refused, DNS)."""
    seen = set()
    stack = [exc]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(err, ConnectionRefusedError):
            return True
        stack.extend([getattr(err, "reason", None), err.__cause__, err.__context__])
        stack.extend(
            a for a in getattr(err, "args", ()) if isinstance(a, BaseException)
        )
    return False
