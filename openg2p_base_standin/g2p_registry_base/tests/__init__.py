from . import test_registrant
