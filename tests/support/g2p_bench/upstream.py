"""The upstream-style send: a login per batch, a plain ``requests.post`` per
deposit (no Session, so a new connection each time)."""

import requests

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def login(auth_url, email, password, timeout=10):
    """The agent's bearer token."""
    response = requests.post(
        auth_url,
        data={"email": email, "password": password},
        headers=FORM,
        timeout=timeout,
    )
    response.raise_for_status()
    return response.json()["token"]


def deposit(pay_url, token, amount, account, customer_type="subscriber", timeout=10):
    response = requests.post(
        pay_url,
        data={"amount": amount, "accountNo": account, "customerType": customer_type},
        headers=dict(FORM, Authorization="Bearer " + token),
        timeout=timeout,
    )
    response.raise_for_status()
    return response
