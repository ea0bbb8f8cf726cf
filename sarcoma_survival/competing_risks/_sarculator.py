"""Where ``SarculatorFineGray`` lived before it joined the other Sarculator models in ``models``.

Model files written before the move name the class by this module; it resolves the name to
:class:`sarcoma_survival.models.SarculatorFineGray` on first use (``models`` sits above
this package, so the name is not imported here).
"""
from ..utils import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"SarculatorFineGray": "sarcoma_survival.models"})
