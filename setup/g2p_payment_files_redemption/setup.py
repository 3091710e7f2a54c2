"""OCA-style packaging of one addon (setuptools-odoo; odoo/addons/<addon> is a symlink).

setuptools-odoo 3.3 knows Odoo series up to 16.0; 17.0 follows the same rules
(distribution ``odoo-addon-<addon>``, namespace ``odoo.addons``), so the series
is registered here before setup() reads the manifest.
"""

import setuptools
from setuptools_odoo import base_addons, core

core.ODOO_VERSION_INFO.setdefault(
    "17.0",
    dict(
        core.ODOO_VERSION_INFO["16.0"],
        odoo_dep="odoo>=17.0a,<17.1dev",
        base_addons=getattr(base_addons, "odoo17", base_addons.odoo16),
        pkg_version_specifier=">=17.0dev,<17.1dev",
    ),
)

setuptools.setup(odoo_addon=True)
