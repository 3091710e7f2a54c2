from . import (
    payment,
    payment_batch,
    payment_manager,
    payment_manager_simple_mpesa,
    payment_mpesa_attempt,
)
