"""Gateway simulators for tests, benchmarks and the demo (stdlib only).

A development package, never shipped inside an addon: the Odoo tier runner,
the pure tier, the e2e tests and the demo put ``tests/support`` on the Python
path (``PYTHONPATH``) so ``import g2p_simulators.simple_mpesa`` works in
each of them, Odoo's own test process included.
"""
