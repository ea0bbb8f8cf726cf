"""The one line a person sees for an exception: the command line, the web page, the demo."""
from __future__ import annotations

#: Exception types that carry a message written for the user (a bad input, a missing file or
#: package): their first line is shown alone. Any other type is unexpected and is named.
USER_ERRORS = (ValueError, TypeError, OSError, KeyError, ImportError)


def error_line(exc, *, expected=USER_ERRORS, hint=None, hide=()):
    """The one line that tells a person what went wrong.

    The first line of the message. An exception of an ``expected`` type with a message
    gives that line alone; any other is unexpected, so the line names its type
    (``IndexError: list index out of range``, or the type alone when there is no
    message) and ends with ``hint`` in parentheses when given.

    Parameters
    ----------
    exc : BaseException
        The exception.
    expected : tuple of type, default=USER_ERRORS
        Types whose message is shown alone (``()``: every type is named).
    hint : str, optional
        What to do to learn more, appended to an unexpected error's line
        (the command line's ``rerun with --traceback for details``).
    hide : sequence of str, default=()
        Texts left out of the message (a private folder's path, longest first).

    Returns
    -------
    str
        One line, without a newline.

    Examples
    --------
    >>> error_line(ValueError("age: 'old' is not a number\\nmore details"))
    "age: 'old' is not a number"
    >>> error_line(IndexError("list index out of range"), hint="rerun with --traceback for details")
    'IndexError: list index out of range (rerun with --traceback for details)'
    >>> error_line(ValueError("bad value"), expected=())
    'ValueError: bad value'
    >>> error_line(OSError("/tmp/upload-1/t1.nii: not found"), hide=["/tmp/upload-1/"])
    't1.nii: not found'
    """
    text = str(exc).strip()
    message = text.splitlines()[0] if text else ""
    for part in hide:
        message = message.replace(part, "")
    if message and isinstance(exc, tuple(expected)):
        return message
    what = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"{what} ({hint})" if hint else what
