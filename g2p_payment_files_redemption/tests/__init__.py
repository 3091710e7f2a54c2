from . import test_redeem_offline, test_redeem_online
