"""Helpers for national-scale voucher runs through a real Odoo (no Odoo import).

Used by ``tests/bench/bench_cycle_odoo.py`` and the e2e test
``tests/odoo_tier/e2e/test_voucher_chunks_e2e.py``; never shipped in an addon.

- ``bulk``: registrants and approved entitlements by the thousand, cloned in
  SQL from one row made through the ORM (the ORM would take minutes);
- ``programs``: a voucher program (store, PDF template with a signed JWT QR
  code and a Code-128 barcode, File Payment Manager) over JSON-RPC;
- ``state``: what a cycle and its queue jobs look like, read in SQL (polling
  over HTTP would take a worker away from the jobs), and the end-state checks
  (one voucher per payment and file config, no duplicate code rows, no orphan
  files, cycle unlocked);
- ``procwatch``: peak RSS (VmHWM) of every process of an Odoo server, workers
  recycled or killed included.
"""
