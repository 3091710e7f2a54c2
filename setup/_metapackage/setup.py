"""All six addons in one install: pip install ./setup/_metapackage (OCA style)."""

import setuptools

ADDONS = (
    "g2p_payment_files",
    "g2p_payment_files_redemption",
    "g2p_payment_simple_mpesa",
    "g2p_program_documents",
    "g2p_programs",
    "g2p_registry_base",
)

setuptools.setup(
    name="odoo-addons-g2p-payments",
    version="17.0.1.0.0",
    description="Meta package: the G2P payment addons and the OpenG2P base stand-in",
    license="LGPL-3",
    install_requires=[f"odoo-addon-{name}>=17.0dev,<17.1dev" for name in ADDONS],
    classifiers=[
        "Programming Language :: Python",
        "Framework :: Odoo",
        "Framework :: Odoo :: 17.0",
    ],
)
