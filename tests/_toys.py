"""Stand-ins shared by the test modules (not a test module: pytest collects ``test_*.py``)."""
from __future__ import annotations

from sklearn.base import BaseEstimator


class RecordingAugment(BaseEstimator):
    """Augmentation stand-in that records the shape of every batch it was applied to."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def reset(self):
        self.calls_ = []
        return self

    def __call__(self, batch):
        self.calls_.append(tuple(batch.shape))
        return batch
