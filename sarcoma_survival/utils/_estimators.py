"""Walking the parts of a fitted model (estimators inside pipelines, parameters, attributes)."""
from __future__ import annotations


def walk_estimators(obj, *, params=False, _depth=0, _seen=None):
    """Every estimator-like object reachable from ``obj`` (``obj`` itself first).

    An object is estimator-like when it has ``get_params`` (scikit-learn's contract; no
    import of scikit-learn is needed). The walk enters lists, tuples and dicts, a
    pipeline's ``steps`` and a column transformer's ``transformers``, and every fitted
    attribute (a name ending in ``_``); with ``params=True`` also every parameter (a
    public attribute such as a network's ``preprocessor``). Each object is yielded
    once; the walk stops 6 levels down.

    Parameters
    ----------
    obj : object
    params : bool, default=False
        Also enter the parameters (public attributes not ending in ``_``).

    Yields
    ------
    object

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import LinearRegression
    >>> pipe = make_pipeline(StandardScaler(), LinearRegression())
    >>> [type(part).__name__ for part in walk_estimators(pipe)]
    ['Pipeline', 'StandardScaler', 'LinearRegression']
    """
    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 6:
        return
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        for item in obj:
            yield from walk_estimators(item, params=params, _depth=_depth + 1, _seen=seen)
        return
    if isinstance(obj, dict):
        for item in obj.values():
            yield from walk_estimators(item, params=params, _depth=_depth + 1, _seen=seen)
        return
    if isinstance(obj, type) or not hasattr(obj, "get_params") or not hasattr(obj, "__dict__"):
        return
    yield obj
    for name, value in vars(obj).items():
        if name.endswith("_") or name in ("steps", "transformers") or (params and not name.startswith("_")):
            yield from walk_estimators(value, params=params, _depth=_depth + 1, _seen=seen)
