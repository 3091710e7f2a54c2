"""Plumbing the Mpesa benchmarks share (``tests/bench/bench_mpesa*.py``).

Never shipped in an addon; nothing here imports Odoo at import time.

- ``procmem``: a process's RSS and peak RSS (VmHWM) from ``/proc``;
- ``odoo_lib``: a database made with ``odoo-bin -i``, and Odoo used as a
  library (config parsed, registry loaded);
- ``mpesa_program``: a program whose payment manager is a simple Mpesa one;
- ``simulator``: the simple-mpesa gateway simulator in a process of its own;
- ``daraja_process``: the Daraja B2C simulator in a process of its own, its
  result callbacks kept in an outbox the benchmark drains;
- ``upstream``: the upstream-style send (login per batch, one new
  connection per deposit) the benchmarks compare against.
"""
