{
    "name": "OpenG2P Program: Documents (stand-in)",
    "summary": "Document stores and stored files for programs (slim stand-in)",
    "category": "G2P",
    "version": "17.0.1.0.0",
    "author": "G2P payment addons team",
    "website": "https://github.com/OpenG2P/openg2p-program",
    "license": "LGPL-3",
    "depends": ["g2p_programs"],
    "data": [
        "security/ir.model.access.csv",
        "views/storage_backend_views.xml",
        "views/storage_file_views.xml",
        "views/g2p_program_views.xml",
    ],
}
