from . import (
    payment,
    payment_batch,
    payment_manager,
    payment_manager_simple_mpesa,
    payment_manager_simple_mpesa_queue,
    payment_mpesa_attempt,
)
