from odoo import models
from odoo.tools import safe_eval


class BaseProgramsManager(models.AbstractModel):
    _name = "base.programs.manager"
    _description = "Base Programs Manager"

    def _get_eval_context(self):
        return {
            "datetime": safe_eval.datetime,
            "dateutil": safe_eval.dateutil,
            "time": safe_eval.time,
            "uid": self.env.uid,
            "user": self.env.user,
        }

    def _safe_eval(self, expression, locals_dict=None):
        return safe_eval.safe_eval(expression, self._get_eval_context(), locals_dict)
