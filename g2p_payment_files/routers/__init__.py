from .jwks import jwks_router
