"""Shared fixtures: the real validation bundle (skipped when absent) and the slow marker."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _validation_dir() -> Path:
    env = os.environ.get("SARCOMA_SURVIVAL_VALIDATION")
    return Path(env) if env else ROOT.parent / "shared" / "validation"


def pytest_configure(config):
    """Keep every cache and generated cohort of the test session in a temporary folder.

    Set at configure time (not in a fixture) so that module- and session-scoped fixtures
    never write into the user's ``~/.cache`` either.
    """
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="sarcoma_survival_tests_"))
    os.environ["SARCOMA_SURVIVAL_CACHE"] = str(base / "cache")
    os.environ["SARCOMA_SURVIVAL_DATA"] = str(base / "data")
    config._sarcoma_survival_tmp = base
    # The tests train tiny networks, which run far faster on one thread than on two; one
    # setting for the whole session also keeps module-scoped fits and re-fits bitwise equal.
    import torch

    torch.set_num_threads(1)


def pytest_unconfigure(config):
    import shutil

    base = getattr(config, "_sarcoma_survival_tmp", None)
    if base is not None:
        shutil.rmtree(base, ignore_errors=True)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow") or os.environ.get("SARCOMA_SURVIVAL_RUNSLOW") == "1":
        return
    skip_slow = pytest.mark.skip(reason="slow: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _keep_the_locale():
    """Put the process locale back after each test: ITK's DICOM writer, which the tests use
    to build series, sets LC_CTYPE to "C", and a later test that writes non-ASCII text with
    the default encoding would then fail for a reason of its own."""
    import locale

    before = locale.setlocale(locale.LC_ALL)
    yield
    if locale.setlocale(locale.LC_ALL) != before:
        locale.setlocale(locale.LC_ALL, before)


@pytest.fixture(scope="session")
def validation_dir() -> Path:
    """``../shared/validation`` (or ``$SARCOMA_SURVIVAL_VALIDATION``); skips when absent."""
    path = _validation_dir()
    if not path.is_dir():
        pytest.skip(f"validation data not found at {path}")
    return path


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory):
    """A 24-patient synthetic cohort with real NIfTI files at 24-voxel size (shared, read-only)."""
    from sarcoma_survival.datasets import make_synthetic_cohort

    return make_synthetic_cohort(
        24, image_size=24, random_state=0, data_dir=tmp_path_factory.mktemp("tiny_cohort")
    )
