from . import models, routers
