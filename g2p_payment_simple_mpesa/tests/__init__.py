from . import (
    test_daraja_disbursement,
    test_daraja_settings,
    test_daraja_status,
    test_mpesa_disbursement,
    test_mpesa_faults,
    test_mpesa_manager_config,
    test_mpesa_officer_view,
    test_mpesa_officer_view_connection,
    test_mpesa_prepare_scale,
    test_mpesa_prepare_scale_concurrency,
    test_mpesa_prepare_send_paths,
    test_mpesa_reconciliation,
)
