from .redemption import redemption_router
