from . import test_mpesa_disbursement
from . import test_mpesa_faults
from . import test_mpesa_reconciliation
from . import test_mpesa_manager_config
