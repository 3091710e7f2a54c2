from . import mpesa_reconcile_wizard
