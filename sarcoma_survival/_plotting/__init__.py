"""Implementation of :mod:`sarcoma_survival.plotting` (one module per figure)."""
