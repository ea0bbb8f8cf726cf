"""Importing a third-party module without the packages it would import needlessly.

(``lazy_exports``, re-exported by ``sarcoma_survival.utils``, is in ``sarcoma_survival._lazy``.)
"""
from __future__ import annotations

import importlib


class _RefuseImports:
    """A ``sys.meta_path`` finder that refuses to import the top-level packages ``names``."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ImportError(f"{name} is not imported here", name=name)
        return None


def import_without(module, *, blocked):
    """Import ``module`` while the packages ``blocked`` that are not imported yet cannot be.

    For a third-party module whose import walks packages it does not need, such as
    ``skops.io``, whose list of scikit-learn estimators imports every scikit-learn
    package and so torch and Dask through ``sklearn.externals.array_api_compat``
    (its walk ignores the resulting ``ImportError``). A package already imported
    stays usable; once ``module`` is imported, nothing stays blocked.

    Parameters
    ----------
    module : str
        Module to import.
    blocked : iterable of str
        Top-level package names.

    Returns
    -------
    module
        The imported module.

    Examples
    --------
    >>> import_without("json", blocked=("torch",)).dumps([1])
    '[1]'
    """
    import sys

    if module in sys.modules:
        return sys.modules[module]
    finder = _RefuseImports(name for name in blocked if name not in sys.modules)
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module(module)
    finally:
        sys.meta_path.remove(finder)
