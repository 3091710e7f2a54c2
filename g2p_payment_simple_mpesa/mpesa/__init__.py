"""Odoo-free core of the Simple Mpesa payment manager.

Gateway client, payee/amount validation and the dispatch state machine (the
gateway simulator is a test double: ``tests/support/g2p_simulators``).
Nothing here imports Odoo; the addon's models import these
modules relatively (``from ..mpesa import client``).
"""
