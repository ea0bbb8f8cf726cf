"""Gradient-blending weights over training epochs (paper Fig. 1)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..utils.blending import HEADS, blending_weights_table
from ._common import get_axes

#: Known heads come first, in this order: the auxiliary heads, then the multimodal head
#: (the one that predicts), drawn last so that it lies on top.
DRAW_ORDER = (*HEADS[1:], HEADS[0])


def _flatten(record):
    """Merge nested mappings of a per-epoch record (``{"epoch": 3, "weights": {...}}``)."""
    flat = {}
    for key, value in dict(record).items():
        if isinstance(value, Mapping):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def blending_weights_frame(history, heads=None):
    """Normalize a record of gradient-blending weights to a DataFrame indexed by epoch.

    Accepted formats:

    * a DataFrame with one column per head (``"clinical"``, ``"image"``,
      ``"multimodal"``, or any other names) and either an ``epoch`` column or the epoch
      as index;
    * a mapping ``head -> sequence of weights`` (epochs 1, 2, ... unless an ``"epoch"``
      key is given);
    * a list of per-epoch mappings, for example ``[{"epoch": 1, "clinical": 0.3, ...}]``
      (a skorch ``History`` is such a list); a nested mapping in a record, such as
      ``{"epoch": 1, "blending_weights": {"clinical": 0.3, ...}}``, is flattened.

    Parameters
    ----------
    history : DataFrame, mapping or list of mappings
        Per-epoch weights of the heads, in one of the formats above.
    heads : list of str, optional
        Columns to keep. By default the known heads (``"clinical"``, ``"image"``,
        ``"multimodal"``) when any is present (other columns, such as losses, are
        ignored), otherwise every column.

    Returns
    -------
    frame : DataFrame
        Index ``epoch``, one float column per head; the known heads come first.

    Examples
    --------
    >>> from sarcoma_survival.plotting import blending_weights_frame
    >>> frame = blending_weights_frame({"image": [0.5, 0.2], "clinical": [0.5, 0.8]})
    >>> frame.index.tolist(), list(frame.columns)
    ([1, 2], ['clinical', 'image'])
    """
    if isinstance(history, pd.DataFrame):
        frame = history.copy()
    elif isinstance(history, Mapping):
        frame = pd.DataFrame({key: list(value) for key, value in history.items()})
        if "epoch" not in frame.columns:
            frame.index = pd.RangeIndex(1, len(frame) + 1)
    elif any("blending_weights" in record for record in history):  # GradientBlending's records
        frame = blending_weights_table(history)
    else:
        frame = pd.DataFrame([_flatten(record) for record in history])
        if "epoch" not in frame.columns:
            frame.index = pd.RangeIndex(1, len(frame) + 1)
    if "epoch" in frame.columns:
        frame = frame.set_index("epoch")
    frame.index.name = "epoch"
    if heads is None:
        known = [h for h in DRAW_ORDER if h in frame.columns]
        heads = known or list(frame.columns)
    missing = [h for h in heads if h not in frame.columns]
    if missing:
        raise ValueError(f"no weights for head(s) {missing}; columns are {list(frame.columns)}")
    frame = frame[list(heads)]
    if frame.empty:
        raise ValueError("the blending-weight history is empty")
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise ValueError(f"blending weights must be numeric; non-numeric column(s): {bad}")
    values = frame.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if ((finite < 0) | (finite > 1)).any():
        raise ValueError("blending weights must lie in [0, 1]")
    order = [h for h in DRAW_ORDER if h in frame.columns] + [c for c in frame.columns if c not in DRAW_ORDER]
    return frame[order].astype(float)


def plot_blending_weights(history, *, heads=None, ax=None):
    """Plot the gradient-blending weight of each head over the training epochs.

    Parameters
    ----------
    history : DataFrame, mapping or list of mappings
        Per-epoch weights of the heads; see :func:`blending_weights_frame` for the
        accepted formats (a DataFrame with an ``epoch`` column or index and one column
        per head ``"clinical"``, ``"image"``, ``"multimodal"``).
    heads : list of str, optional
        Heads to draw; see :func:`blending_weights_frame`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.

    Returns
    -------
    ax : matplotlib Axes
        One labeled line per head.

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.plotting import plot_blending_weights
    >>> history = pd.DataFrame({"epoch": [1, 2, 3], "clinical": [1/3, 0.2, 0.1],
    ...                         "image": [1/3, 0.3, 0.3], "multimodal": [1/3, 0.5, 0.6]})
    >>> ax = plot_blending_weights(history)
    >>> [line.get_label() for line in ax.get_lines()]
    ['clinical', 'image', 'multimodal']
    """
    frame = blending_weights_frame(history, heads=heads)
    ax = get_axes(ax)
    for head in frame.columns:
        ax.plot(frame.index.to_numpy(), frame[head].to_numpy(), label=str(head))
    ax.set(ylim=(0, 1), xlabel="epoch", ylabel="gradient-blending weight", title="Gradient-blending weights")
    ax.legend(loc="best")
    return ax
