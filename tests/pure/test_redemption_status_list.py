"""The voucher status list, read back by an implementation of the draft not ours."""

import random

import pytest
from token_status_list import BitArray

from g2p_payment_files_redemption.redemption import status_list


def test_each_entry_reads_back_with_an_independent_implementation():
    invalid = {1, 7, 8, 9, 1000, 4095}
    lst = status_list.encode(invalid, 4096)
    independent = BitArray.load({"bits": 1, "lst": lst})
    assert [i for i in range(4096) if independent.get(i)] == sorted(invalid)
    ours = status_list.decode(lst)
    assert all(status_list.status_at(ours, i) == (i in invalid) for i in range(4096))


@pytest.mark.parametrize("share", [0.0, 0.3, 0.5])
def test_a_million_vouchers_fit_in_300_kb(share):
    rng = random.Random(7)
    size = 1_000_000
    invalid = (i for i in range(size) if rng.random() < share)
    lst = status_list.encode(invalid, size)
    token_size = len(lst) + 600  # header, other claims and signature
    assert token_size <= 300 * 1024, token_size


def test_claims_point_at_the_list_and_carry_its_lifetime():
    claims = status_list.claims("https://x.test/statuslists/1", "eNo", 1000)
    assert claims["sub"] == "https://x.test/statuslists/1"
    assert claims["status_list"] == {"bits": 1, "lst": "eNo"}
    assert claims["exp"] > claims["iat"] and claims["ttl"] == status_list.TTL_SECONDS
    ref = status_list.reference("https://x.test/statuslists/1", 42)
    assert ref == {
        "status": {"status_list": {"idx": 42, "uri": "https://x.test/statuslists/1"}}
    }
