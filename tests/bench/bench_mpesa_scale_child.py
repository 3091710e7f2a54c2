"""One measurement of ``bench_mpesa_scale_odoo.py``, in a process of its own.

Run by the driver as ``python bench_mpesa_scale_child.py KIND JSON``; prints
``RESULT {json}`` as its last line.  A fresh process per measurement, so its
peak RSS (VmHWM, reset once the registry is loaded) is that measurement's
alone.  Kinds: ``setup``, ``prepare`` (variants ``one_job``, ``baseline``),
``plan`` and ``worker`` (the chunked variant: the click, then queue_job
workers), ``send``, ``disburse`` and ``disburse_baseline`` (simple-mpesa),
``daraja_setup`` and ``daraja_disburse``.  Odoo is used as a library.
"""

import json
import os
import sys

from mpesa_scale_common import Odoo
from mpesa_scale_daraja import daraja_disburse, daraja_setup
from mpesa_scale_disburse import disburse, disburse_baseline, send
from mpesa_scale_prepare import figures, plan, prepare, setup, worker

KINDS = {
    "setup": setup,
    "figures": figures,
    "prepare": prepare,
    "plan": plan,
    "worker": worker,
    "send": send,
    "disburse": disburse,
    "disburse_baseline": disburse_baseline,
    "daraja_setup": daraja_setup,
    "daraja_disburse": daraja_disburse,
}


def main():
    kind, conf = sys.argv[1], json.loads(sys.argv[2])
    odoo = Odoo(conf)
    result = KINDS[kind](odoo, conf)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # no registry teardown: nothing of it is measured


if __name__ == "__main__":
    main()
