"""Lazy (PEP 562) public names of a package."""
from __future__ import annotations

import importlib


def lazy_exports(package, modules):
    """``__getattr__`` and ``__dir__`` for ``package`` importing each name from its module on first use.

    Used by the packages whose joblib/Dask workers must start without importing
    scikit-learn and pandas (see ``sarcoma_survival._parallel``).

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("json", {"dumps": "json"})
    >>> getattr_("dumps")({"a": 1})
    '{"a": 1}'
    """

    def __getattr__(name):
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    def __dir__():
        return sorted(modules)

    return __getattr__, __dir__
