"""Docstring sections shared by several functions, written once."""
from __future__ import annotations


def fill_doc(**sections):
    """Decorator: replace each line ``<name>`` of the docstring by ``sections[name]``.

    For docstring entries that several functions share word for word (the same
    parameters, the same errors). Each text is written with the indentation of the
    docstring it goes into and ends with a newline; a marker line holds only its
    indentation and ``<name>``.

    Parameters
    ----------
    **sections : str
        Text of each marker.

    Returns
    -------
    callable
        The decorator, which returns the function (or class) it is given.

    Examples
    --------
    >>> @fill_doc(x="    x : int\\n        A number.\\n")
    ... def f(x):
    ...     '''Identity.
    ...
    ...     Parameters
    ...     ----------
    ...     <x>
    ...     '''
    >>> print(f.__doc__.splitlines()[4])
        x : int
    """

    def decorate(obj):
        doc = obj.__doc__
        if doc is None:  # python -OO
            return obj
        for name, text in sections.items():
            marker = f"<{name}>\n"
            if marker not in doc:
                raise ValueError(f"{obj.__qualname__}'s docstring has no line <{name}>")
            head, _, tail = doc.partition(marker)
            indent = head[len(head.rstrip(" ")):]
            doc = head[: len(head) - len(indent)] + text + tail
        obj.__doc__ = doc
        return obj

    return decorate
