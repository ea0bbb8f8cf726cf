"""Former home of the gradient-blending schedule; model files pickled before it moved
to :mod:`sarcoma_survival.nn._blending` name :class:`GradientBlending` here."""
from ._blending import GradientBlending  # noqa: F401
