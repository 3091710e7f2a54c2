"""Pure-tier import shim.

The addons' ``__init__`` files import Odoo models.  The pure tier must import
their Odoo-free subpackages (``g2p_payment_files.vouchers``,
``g2p_payment_simple_mpesa.mpesa``) without Odoo, so each addon is registered
here as a bare package whose ``__init__`` is never executed.
"""

import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ADDONS = (
    "g2p_payment_files",
    "g2p_payment_simple_mpesa",
    "g2p_payment_files_redemption",
)


def _register_bare_package(name):
    if name in sys.modules:
        return
    pkg = types.ModuleType(name)
    pkg.__path__ = [str(REPO / name)]
    pkg.__package__ = name
    sys.modules[name] = pkg


for _name in ADDONS:
    _register_bare_package(_name)

# Test doubles (gateway simulators) live outside the addons.
SUPPORT = str(REPO / "tests" / "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)
