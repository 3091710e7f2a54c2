"""Odoo-free voucher logic of ``g2p_payment_files``.

Keys and JWKs, signed payloads (JWT / CWT through python-jose and pycose), QR
and Code-128 images, batched PDF rendering and a standalone offline verifier
(``verify.py``, which no other module here imports).  Nothing in this
package imports Odoo; the addon imports it relatively (``from ..vouchers import
keys``) and the pure test tier imports it as ``g2p_payment_files.vouchers``.
"""
