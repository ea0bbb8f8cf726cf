"""Helpers shared by the subpackages: cache folders, hashing, atomic writes, image grids.

Every subpackage imports these from ``sarcoma_survival.utils`` (never from its private
modules); ``sarcoma_survival.utils`` imports nothing else from the package, so it sits at
the bottom of the layers (see the Architecture page of the documentation).
"""
from ._files import atomic_path, get_cache_dir, get_data_dir, hash_file, hash_params
from ._images import same_grid

__all__ = ["atomic_path", "get_cache_dir", "get_data_dir", "hash_file", "hash_params", "same_grid"]
