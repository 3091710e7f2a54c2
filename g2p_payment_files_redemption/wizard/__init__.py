from . import redemption_device_key, voucher_cancel
