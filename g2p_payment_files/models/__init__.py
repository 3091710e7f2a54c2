from . import (
    crypto_key_set,
    fastapi_endpoint,
    payment,
    payment_batch,
    payment_batch_tag,
    payment_file_config,
    payment_file_qrcode,
    payment_file_qrcode_config,
    payment_manager,
    payment_manager_file,
)
