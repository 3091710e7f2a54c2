from . import models, routers, wizard
