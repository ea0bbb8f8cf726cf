"""Lazy (PEP 562) public names of a package: the one mechanism of the top-level package and
its subpackages. It imports nothing from the package, and no numpy (layer 0: the command
line imports the top-level package and starts without numpy)."""
from __future__ import annotations

import importlib
import sys


def lazy_exports(package, modules, *, dir_globals=False):
    """``__getattr__`` and ``__dir__`` for ``package`` importing each name from its module on first use.

    Used by the packages whose joblib/Dask workers must start without importing
    scikit-learn and pandas (see ``sarcoma_survival._parallel``), and by the top-level
    package, which must import without torch. A name, once imported, is stored in the
    package's namespace, so that later reads do not call ``__getattr__`` again.

    Parameters
    ----------
    package : str
        Name of the module that exports the names (its ``__name__``); relative module
        names are resolved against it.
    modules : dict of str to str
        Exported name -> module that defines it (absolute, or relative to ``package``).
    dir_globals : bool, default=False
        ``__dir__`` lists the module's own names too (the standard ``dir()`` of a
        module, plus the names not imported yet); by default it lists only the
        exported names.

    Returns
    -------
    __getattr__ : callable
        Raises ``AttributeError`` for a name that is not exported.
    __dir__ : callable

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
        value = getattr(importlib.import_module(module, package), name)
        owner = sys.modules.get(package)
        if owner is not None:
            setattr(owner, name, value)
        return value

    def __dir__():
        if dir_globals:
            return sorted(set(vars(sys.modules[package])) | set(modules))
        return sorted(modules)

    return __getattr__, __dir__
