from . import (
    test_redeem_offline,
    test_redeem_online,
    test_status_list,
    test_voucher_reissue,
)
