from . import (
    fastapi_endpoint,
    payment,
    payment_file_qrcode,
    payment_file_qrcode_config,
    redemption_device,
    redemption_point,
    redemption_refusal,
    voucher_redemption,
    voucher_redemption_service,
    voucher_redemption_sync,
    voucher_status_list,
)
