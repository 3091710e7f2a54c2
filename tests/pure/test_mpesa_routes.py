"""Which address changes are a new destination for the gateway secrets."""

import pytest

from g2p_payment_simple_mpesa.mpesa import routes


@pytest.mark.parametrize(
    ("old", "new", "same"),
    [
        ("https://gw.example/api/login", "https://gw.example/v2/login", True),
        ("https://gw.example/api", "https://GW.example.:443/api", True),
        ("http://gw.example/api", "https://gw.example/api", True),
        ("http://gw.example:5000/a", "https://gw.example:5000/a", True),
        ("https://gw.example/api", "http://gw.example/api", False),
        ("https://gw.example/api", "https://evil.example/api", False),
        ("https://gw.example/api", "https://gw.example:8443/api", False),
        ("https://gw.example/api", "https://gw.example.evil.example/api", False),
        ("", "https://evil.example/api", False),
        ("not a url", "https://evil.example/api", False),
        ("https://gw.example/api", "", True),
        ("https://gw.example/api", "ftp://gw.example/api", True),
    ],
)
def test_a_new_host_port_or_clear_text_is_a_new_destination(old, new, same):
    assert routes.same_destination(old, new) is same


def test_each_route_lists_the_secrets_sent_there_once_in_order():
    found = routes.secrets_for(["auth_endpoint_url", "payment_endpoint_url"])
    assert found == [
        "username",
        "password",
        "daraja_consumer_key",
        "daraja_consumer_secret",
        "daraja_initiator_password",
    ]
    assert routes.secrets_for(["daraja_callback_base_url"]) == [
        "daraja_callback_secret"
    ]
    assert routes.secrets_for([]) == []


def test_callback_secrets_are_long_and_fresh():
    first, second = routes.new_callback_secret(), routes.new_callback_secret()
    assert first != second
    assert len(first) >= 32
