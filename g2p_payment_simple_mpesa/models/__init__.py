# payment_manager_simple_mpesa defines the manager model; the files named after
# it (imported after it, in this sorted order) extend it, one responsibility
# each: see its docstring.
from . import (
    cycle,
    daraja_token,
    entitlement,
    fastapi_endpoint_daraja,
    payment,
    payment_batch,
    payment_batch_guard,
    payment_batch_tag,
    payment_daraja,
    payment_guard,
    payment_manager,
    payment_manager_simple_mpesa,
    payment_manager_simple_mpesa_cron,
    payment_manager_simple_mpesa_daraja,
    payment_manager_simple_mpesa_daraja_results,
    payment_manager_simple_mpesa_daraja_send,
    payment_manager_simple_mpesa_payee,
    payment_manager_simple_mpesa_prepare,
    payment_manager_simple_mpesa_queue,
    payment_manager_simple_mpesa_reconcile,
    payment_manager_simple_mpesa_routes,
    payment_manager_simple_mpesa_ui,
    payment_mpesa_attempt,
)
