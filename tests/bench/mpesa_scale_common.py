"""What every measurement of ``bench_mpesa_scale_child.py`` shares: Odoo
loaded as a library from the driver's JSON configuration, and the memory
baseline each one starts from."""

import gc
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))

from g2p_bench.mpesa_program import MANAGER  # noqa: E402, F401 - re-exported
from g2p_bench.odoo_lib import load_registry  # noqa: E402
from g2p_bench.procmem import reset_peak, rss_mib  # noqa: E402

DEFAULT_MANAGER = "g2p.program.payment.manager.default"
AGENT, PASSWORD = "scale-agent@sim.test", "scale-secret"


class Odoo:
    def __init__(self, conf):
        odoo_args = [
            f"--addons-path={conf['addons_path']}",
            f"--db_host={conf['db_host']}",
            f"--db_port={conf['db_port']}",
            f"--db_user={conf['db_user']}",
        ]
        self.odoo, self.registry = load_registry(
            conf["odoo_src"], odoo_args, conf["db"]
        )

    def env(self, cr, uid=None, **context):
        return self.odoo.api.Environment(cr, uid or self.odoo.SUPERUSER_ID, context)

    def cursor(self):
        return self.registry.cursor()


def settle():
    """Memory baseline of a loaded registry: garbage collected, peak reset."""
    gc.collect()
    reset_peak()
    return rss_mib()


def approved_ids(cr, cycle_id):
    cr.execute(
        "SELECT id FROM g2p_entitlement WHERE cycle_id = %s AND state = 'approved' "
        "ORDER BY id",
        (cycle_id,),
    )
    return [row[0] for row in cr.fetchall()]
