from . import redemption_device_key
