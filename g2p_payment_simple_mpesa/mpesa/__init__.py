"""Odoo-free core of the Simple Mpesa payment manager.

Gateway client, payee/amount validation, the dispatch state machine and a
gateway simulator.  Nothing here imports Odoo; the addon's models import these
modules relatively (``from ..mpesa import client``).
"""
