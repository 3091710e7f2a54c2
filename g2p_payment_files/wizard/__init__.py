from . import payment_file_preview
