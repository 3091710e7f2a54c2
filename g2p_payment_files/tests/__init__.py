from . import (
    test_access,
    test_batch_tag_checks,
    test_crypto_key_set,
    test_jwks_endpoint,
    test_payload_errors,
    test_prepare_payments,
    test_template_checks,
    test_views,
    test_voucher_chunks,
    test_voucher_files,
)
