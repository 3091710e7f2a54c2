from . import mpesa_cancel_wizard, mpesa_reconcile_wizard
