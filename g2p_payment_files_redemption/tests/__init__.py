from . import test_redeem_online
