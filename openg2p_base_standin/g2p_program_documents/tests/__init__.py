from . import test_document_store
