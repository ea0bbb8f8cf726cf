"""Keep PyRadiomics' logging quiet while it works (it logs warnings to stderr by default)."""
from __future__ import annotations

import contextlib
import logging


@contextlib.contextmanager
def quiet_radiomics(level=logging.ERROR):
    """Raise the level of the ``radiomics`` logger to ``level`` inside the block, then restore it.

    PyRadiomics installs a stderr handler at WARNING on import and logs, for example, a
    warning for every fixed-bin-count extraction; inside this block only records at
    ``level`` or above are emitted. ``level=None`` leaves the logger untouched.
    """
    if level is None:
        yield
        return
    logger = logging.getLogger("radiomics")
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
