from . import (
    fastapi_endpoint,
    payment_file_qrcode,
    redemption_device,
    redemption_point,
    redemption_refusal,
    voucher_redemption,
    voucher_redemption_service,
    voucher_redemption_sync,
)
