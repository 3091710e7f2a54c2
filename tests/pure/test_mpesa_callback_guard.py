"""Callback allow-list, trusted proxies and the body size limit."""

import pytest

from g2p_payment_simple_mpesa.mpesa import callback_guard as guard


def test_an_empty_allow_list_lets_every_address_through():
    assert guard.allowed("203.0.113.9", "")
    assert guard.allowed("not-an-address", "  ")


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("196.201.214.200", True),
        ("196.201.213.44", True),
        ("203.0.113.9", False),
        ("testclient", False),
        ("", False),
    ],
)
def test_the_allow_list_takes_addresses_and_networks(address, ok):
    allowlist = "196.201.214.200, 196.201.213.0/24\n2001:db8::/32"
    assert guard.allowed(address, allowlist) is ok


def test_a_bad_entry_is_named():
    with pytest.raises(ValueError, match="196.201.999.1"):
        guard.parse_networks("10.0.0.0/8 196.201.999.1")


def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    trusted = "10.0.0.0/8"
    # Straight from the internet: the header is the caller's own words.
    assert guard.client_address("203.0.113.9", "196.201.214.200", trusted) == (
        "203.0.113.9"
    )
    # Through our proxy: the address the proxy saw.
    assert guard.client_address("10.0.0.2", "196.201.214.200", trusted) == (
        "196.201.214.200"
    )
    # A forged left-most hop is ignored; the proxies' own hops are skipped.
    forwarded = "196.201.214.200, 203.0.113.9, 10.0.0.7"
    assert guard.client_address("10.0.0.2", forwarded, trusted) == "203.0.113.9"
    assert guard.client_address("10.0.0.2", "", trusted) == "10.0.0.2"
    assert guard.client_address("10.0.0.2", "196.201.214.200", "") == "10.0.0.2"


def test_the_size_limit_is_far_above_a_real_result():
    assert 8 * 1024 < guard.MAX_CALLBACK_BYTES <= 1024 * 1024
