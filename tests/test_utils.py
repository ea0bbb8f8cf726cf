"""The helpers of ``sarcoma_survival.utils`` shared by several subpackages."""
from __future__ import annotations

import SimpleITK as sitk

from sarcoma_survival.utils import same_grid


def _image(size=(6, 7, 8), spacing=(0.9, 0.9, 2.5), origin=(-120.0, 85.5, -640.25)):
    image = sitk.Image(*size, sitk.sitkUInt8)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


def test_same_grid_tolerates_header_round_off_only():
    ref = _image()
    assert same_grid(ref, _image())
    # origin written with fewer digits (DICOM / NRRD text, float32 NIfTI offsets)
    assert same_grid(ref, _image(origin=(-120.0005, 85.5004, -640.2496)))
    # a real shift of 0.1 mm, a spacing change, another size or direction: other grids
    assert not same_grid(ref, _image(origin=(-120.1, 85.5, -640.25)))
    assert not same_grid(ref, _image(spacing=(0.9, 0.9, 2.501)))
    assert not same_grid(ref, _image(size=(6, 7, 9)))
    flipped = _image()
    flipped.SetDirection((-1, 0, 0, 0, 1, 0, 0, 0, 1))
    assert not same_grid(ref, flipped)


def test_one_time_point_gives_one_value_of_a_survival_function(tiny_cohort):
    # scikit-survival's StepFunction returns a scalar for a single time, even [365]; the web
    # service iterated over it (HTTP 500). One helper gives one value per time everywhere.
    import numpy as np
    import pytest

    from sarcoma_survival import SarculatorCoxPH
    from sarcoma_survival.utils import check_follow_up_times, curve_values

    fn = SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_os).predict_survival_function(tiny_cohort.X[:1])[0]
    assert np.ndim(fn([365.0])) == 0  # the behaviour the helper corrects
    both = fn(np.array([365.0, 730.0]))
    for times in (365, [365.0], np.array([365.0]), np.array(365.0)):
        np.testing.assert_array_equal(curve_values(fn, times), both[:1])
    np.testing.assert_array_equal(curve_values(fn, [365.0, 730.0]), both)
    end = fn.domain[1]
    np.testing.assert_array_equal(curve_values(fn, [end + 100], clip=True), curve_values(fn, [end]))
    check_follow_up_times(fn, [end])
    with pytest.raises(ValueError, match=rf"times: {end + 1:g} days is beyond the model's training follow-up"):
        check_follow_up_times(fn, [365.0, end + 1])


def test_lazy_exports_import_once_and_keep_the_name():
    import sys
    import types

    import pytest

    from sarcoma_survival.utils import lazy_exports

    owner = types.ModuleType("lazy_owner")
    sys.modules["lazy_owner"] = owner
    try:
        owner.__getattr__, owner.__dir__ = lazy_exports("lazy_owner", {"dumps": "json"})
        import json

        assert owner.dumps is json.dumps
        assert vars(owner)["dumps"] is json.dumps  # kept: no second __getattr__ call
        assert dir(owner) == ["dumps"]
        with pytest.raises(AttributeError, match="module 'lazy_owner' has no attribute 'loads'"):
            owner.loads  # noqa: B018
    finally:
        del sys.modules["lazy_owner"]


def test_the_top_level_package_imports_lazily():
    # one mechanism (sarcoma_survival._lazy) for the top level and the subpackages: importing
    # the package imports neither numpy nor torch; dir() lists its names and the public API
    import subprocess
    import sys

    code = ("import sys, sarcoma_survival as s\n"
            "print(sorted(m for m in ('numpy', 'sklearn', 'pandas', 'torch') if m in sys.modules))\n"
            "print(set(s.__all__) <= set(dir(s)), '__version__' in dir(s), 'SarculatorRSF' in vars(s))\n"
            "s.SarculatorRSF\n"
            "print('SarculatorRSF' in vars(s), 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:3] == ["[]", "True True False", "True False"]


def test_error_line_is_the_one_line_of_the_command_line_the_page_and_the_demo():
    from sarcoma_survival.utils import error_line

    hint = "rerun with --traceback for details"
    # a user's error: its first line alone (the command line and the page)
    assert error_line(ValueError("age: 'old' is not a number\ndetails"), hint=hint) == "age: 'old' is not a number"
    assert error_line(KeyError("t1")) == "'t1'"
    # anything else, or a user's error without a message: named, with the hint
    assert error_line(IndexError("list index out of range"), hint=hint) == (
        "IndexError: list index out of range (rerun with --traceback for details)")
    assert error_line(ValueError(""), hint=hint) == "ValueError (rerun with --traceback for details)"
    assert error_line(RuntimeError("  \n")) == "RuntimeError"
    # the demo names every type; the page leaves its private folder out
    assert error_line(ValueError("bad\nmore"), expected=()) == "ValueError: bad"
    assert error_line(OSError("/tmp/up/x/t1.nii: unreadable"), hide=("/tmp/up/x/", "/tmp/up/x")) == "t1.nii: unreadable"
