from . import g2p_program, storage_backend, storage_file
