from .redemption import redemption_router
from .status_list import status_list_router
