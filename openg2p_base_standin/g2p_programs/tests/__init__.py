from . import (
    test_payment_manager_async,
    test_payment_manager_default,
    test_programs_access,
)
