"""The heads of the multimodal network and their per-epoch gradient-blending weights.

Torch-free, so that plotting and reports read the weights without importing the networks.
"""
from __future__ import annotations

import pandas as pd

#: Order of the heads in the multimodal module's output tuple and in every weight vector.
HEADS = ("multimodal", "clinical", "image")


def blending_weights_table(history):
    """DataFrame (index ``epoch``, one column per head) of the weights recorded per epoch.

    Parameters
    ----------
    history : skorch History or list of dict
        Per-epoch records holding ``"epoch"`` and ``"blending_weights"`` (a dict head ->
        weight), as :class:`~sarcoma_survival.nn.GradientBlending` records them.

    Returns
    -------
    DataFrame
        One column per recorded head, those of :data:`HEADS` first in its order
        (``multimodal``, ``clinical``, ``image``; all three when nothing was recorded);
        epochs without a record are left out.

    Examples
    --------
    >>> from sarcoma_survival.utils.blending import blending_weights_table
    >>> history = [{"epoch": 1, "blending_weights": {"multimodal": 0.5, "clinical": 0.25, "image": 0.25}},
    ...            {"epoch": 2}]
    >>> blending_weights_table(history).loc[1].tolist()
    [0.5, 0.25, 0.25]
    """
    rows = [{"epoch": row["epoch"], **row["blending_weights"]} for row in history
            if "blending_weights" in row]
    recorded = dict.fromkeys(head for row in rows for head in row if head != "epoch")
    heads = [h for h in HEADS if h in recorded or not recorded] + [h for h in recorded if h not in HEADS]
    return pd.DataFrame(rows, columns=["epoch", *heads]).set_index("epoch").astype(float)
