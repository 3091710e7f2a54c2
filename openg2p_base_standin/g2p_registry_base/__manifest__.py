{
    "name": "G2P Registry: Base (stand-in)",
    "summary": "API-compatible slim stand-in of OpenG2P's g2p_registry_base",
    "category": "G2P",
    "version": "17.0.1.0.0",
    "author": "G2P payment addons team",
    "website": "https://github.com/OpenG2P/openg2p-registry",
    "license": "LGPL-3",
    "depends": ["base", "mail"],
    "data": [
        "security/g2p_security.xml",
        "security/ir.model.access.csv",
        "views/main_view.xml",
        "views/g2p_id_type_views.xml",
        "views/res_partner_views.xml",
    ],
}
