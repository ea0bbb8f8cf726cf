"""Images that would be read wrong without a word: truncated files, impossible headers,
non-finite voxels, images N4 cannot correct, paths that are not image files (issue #15)."""
from __future__ import annotations

import gzip
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from sarcoma_survival.preprocessing import VolumePreprocessor
from sarcoma_survival.preprocessing._intensity import n4_correct
from sarcoma_survival.preprocessing._io import ImageReadError, read_image
from sarcoma_survival.radiomics import RadiomicsExtractionError, RadiomicsExtractor
from sarcoma_survival.utils import _files

SHAPE = (12, 16, 16)  # z, y, x


def _image(array):
    return sitk.GetImageFromArray(np.asarray(array))


def _t1_array(seed=0):
    return np.random.default_rng(seed).uniform(50, 150, SHAPE).astype(np.float32)


def _mask_array():
    zz, yy, xx = np.indices(SHAPE)
    inside = ((zz - 5.7) / 3.1) ** 2 + ((yy - 7.8) / 4.3) ** 2 + ((xx - 8.2) / 3.7) ** 2
    return (inside <= 1).astype(np.uint8)


def _cohort(tmp_path, t1_path, patient="SARC_9"):
    mask = tmp_path / "mask.nii.gz"
    sitk.WriteImage(_image(_mask_array()), str(mask))
    return pd.DataFrame({"t1": [str(t1_path)], "mask": [str(mask)]}, index=[patient])


def _cut(path, fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


# ---------------------------------------------------------------------------- truncated files
@pytest.mark.parametrize("name", ["t1.nii", "t1.nii.gz"])
def test_truncated_nifti_is_refused_not_zero_filled(tmp_path, name):
    path = tmp_path / name
    sitk.WriteImage(_image(_t1_array()), str(path))
    _cut(path)
    X = _cohort(tmp_path, path)
    with pytest.raises(ImageReadError, match=rf"patient SARC_9, column 't1', file .*{name}'.*truncated"):
        VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "cache").fit_transform(X)
    assert not list((tmp_path / "cache").rglob("*.npy"))  # nothing cached


def test_intact_nifti_of_every_layout_still_reads(tmp_path):
    array = _t1_array()
    for name in ["a.nii", "a.nii.gz", "a.nrrd", "a.mha", "b.mhd", "c.hdr", "d.nhdr"]:  # data apart: last 3
        sitk.WriteImage(_image(array), str(tmp_path / name), True)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(tmp_path / name)), array)
    # A gzip stream whose trailer does not give the length (two members) is checked by decompressing.
    raw = (tmp_path / "a.nii").read_bytes()
    half = len(raw) // 2
    (tmp_path / "two.nii.gz").write_bytes(gzip.compress(raw[:half]) + gzip.compress(raw[half:]))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(tmp_path / "two.nii.gz")), array)


@pytest.mark.parametrize("name", ["t1.nrrd", "t1.mha"])
def test_truncated_nrrd_and_mha_are_refused(tmp_path, name):
    path = tmp_path / name
    sitk.WriteImage(_image(_t1_array()), str(path), True)
    _cut(path)
    with pytest.raises(ImageReadError, match=rf"patient P, column 't1', file .*{name}'"):
        read_image(path, patient="P", column="t1")


def _nifti_header_declaring(path, size):
    """A valid small NIfTI whose header is rewritten to declare ``size`` voxels."""
    sitk.WriteImage(_image(np.zeros((4, 4, 4), np.float32)), str(path))
    header = bytearray(path.read_bytes()[:352])
    struct.pack_into("<4h", header, 40, 3, *size)
    path.write_bytes(bytes(header) + b"\0" * 700)


def test_impossible_header_size_is_refused_before_allocating(tmp_path, monkeypatch):
    path = tmp_path / "big.nii"
    _nifti_header_declaring(path, (600, 600, 600))
    monkeypatch.setattr(sitk.ImageFileReader, "Execute", lambda *a, **k: pytest.fail("pixels read before the check"))
    with pytest.raises(ImageReadError, match=r"patient P, column 't2', file .*big\.nii'.*600 x 600 x 600"):
        read_image(path, patient="P", column="t2")
    gz = tmp_path / "big.nii.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(ImageReadError, match=r"big\.nii\.gz'.*600 x 600 x 600"):
        read_image(gz)
    nrrd = tmp_path / "big.nrrd"
    nrrd.write_bytes(b"NRRD0004\ntype: float\ndimension: 3\nsizes: 600 600 600\nendian: little\n"
                     b"encoding: raw\n\n" + b"\0" * 1000)
    with pytest.raises(ImageReadError, match=r"big\.nrrd'.*600 x 600 x 600"):
        read_image(nrrd)


# ---------------------------------------------------------------------------- non-finite voxels
def _with_nan(tmp_path, name="t1.nrrd", fraction=0.01):
    array = _t1_array()
    flat = array.ravel()
    rng = np.random.default_rng(1)
    bad = rng.choice(flat.size, int(fraction * flat.size), replace=False)
    flat[bad[::2]] = np.nan
    flat[bad[1::2]] = np.inf
    path = tmp_path / name
    sitk.WriteImage(_image(array), str(path))
    return path, len(bad)


@pytest.mark.parametrize("name", ["t1.nrrd", "t1.mha"])
def test_nonfinite_voxels_are_an_error_by_default(tmp_path, name):
    path, count = _with_nan(tmp_path, name)
    X = _cohort(tmp_path, path)
    with pytest.raises(ImageReadError, match=rf"patient SARC_9, column 't1', file .*{name}'.*{count} "
                                             r"voxel\(s\).*NaN or infinite.*nonfinite='fill'"):
        VolumePreprocessor(size=8, n4=False, cache=False).fit_transform(X)


def test_nonfinite_fill_warns_with_the_count_and_keeps_the_volume(tmp_path):
    path, count = _with_nan(tmp_path)
    X = _cohort(tmp_path, path)
    pre = VolumePreprocessor(size=8, n4=False, antialias=True, nonfinite="fill", cache=False)
    with pytest.warns(UserWarning, match=rf"patient SARC_9, column 't1'.*{count} non-finite voxel\(s\) "
                                         r"\(.*\) replaced by 0"):
        volume = np.asarray(pre.fit_transform(X))
    assert np.isfinite(volume).all() and np.abs(volume).max() > 0.1  # not the all-zero volume of before
    # the fill equals what a clean file holding zeros at those voxels gives
    clean = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    clean[~np.isfinite(clean)] = 0
    sitk.WriteImage(_image(clean), str(tmp_path / "clean.nrrd"))
    clean_cohort = _cohort(tmp_path, tmp_path / "clean.nrrd")
    expected = VolumePreprocessor(size=8, n4=False, cache=False).fit_transform(clean_cohort)
    np.testing.assert_array_equal(volume, np.asarray(expected))
    with pytest.raises(ValueError, match="nonfinite"):
        VolumePreprocessor(nonfinite="zero").fit(X)


def test_radiomics_extractor_nonfinite_policy(tmp_path):
    path, count = _with_nan(tmp_path)
    X = _cohort(tmp_path, path)
    with pytest.raises(RadiomicsExtractionError, match=rf"patient SARC_9.*t1\.nrrd.*{count} voxel\(s\)"):
        RadiomicsExtractor(preprocessor=None, cache=False).fit_transform(X)
    with pytest.warns(UserWarning, match=rf"{count} non-finite voxel\(s\) \(.*\) replaced by 0"):
        out = RadiomicsExtractor(preprocessor=None, nonfinite="fill", cache=False).fit_transform(X)
    assert np.isfinite(out["t1_original_firstorder_Mean"]).all()
    with pytest.raises(ValueError, match="nonfinite"):
        RadiomicsExtractor(nonfinite="drop").fit(X)


def test_nonfinite_mask_is_always_an_error(tmp_path):
    t1 = tmp_path / "t1.nii.gz"
    sitk.WriteImage(_image(_t1_array()), str(t1))
    label = _mask_array().astype(np.float32)
    label[0, 0, 0] = np.nan
    sitk.WriteImage(_image(label), str(tmp_path / "mask.nrrd"))
    X = pd.DataFrame({"t1": [str(t1)], "mask": [str(tmp_path / "mask.nrrd")]}, index=["P"])
    with pytest.raises(ImageReadError, match=r"patient P, column 'mask'.*1 voxel\(s\).*NaN"):
        VolumePreprocessor(size=8, n4=False, nonfinite="fill", cache=False).fit_transform(X)


# ---------------------------------------------------------------------------- N4 guards
def test_n4_on_a_constant_image_is_a_named_error(tmp_path):
    path = tmp_path / "t1.nii.gz"
    sitk.WriteImage(_image(np.full(SHAPE, 7.0, np.float32)), str(path))
    X = _cohort(tmp_path, path)
    with pytest.raises(ValueError, match=r"patient SARC_9, column 't1', file .*t1\.nii\.gz'.*intensity is "
                                         r"constant \(7\)"):
        VolumePreprocessor(size=8, n4=True, cache=False).fit_transform(X)
    with pytest.raises(ValueError, match="intensity is constant"):
        n4_correct(_image(np.full(SHAPE, 7.0, np.float32)))


@pytest.mark.parametrize("n4", [True, False])
def test_single_slice_image_is_a_named_error(tmp_path, n4):
    path = tmp_path / "t1.nii.gz"
    one = _t1_array()[5:6]
    sitk.WriteImage(_image(one), str(path))
    mask = tmp_path / "m.nii.gz"
    label = np.zeros(one.shape, np.uint8)
    label[0, 5:11, 5:11] = 1
    sitk.WriteImage(_image(label), str(mask))
    X = pd.DataFrame({"t1": [str(path)], "mask": [str(mask)]}, index=["SARC_9"])
    # before: ITK's "Zero-valued spacing" traceback with N4, an all-zero volume without
    with pytest.raises(ImageReadError, match=r"patient SARC_9, column 't1', file .*t1\.nii\.gz'.*16 x 16 x 1 "
                                             r"voxels.*not a 3D volume") as info:
        VolumePreprocessor(size=8, n4=n4, cache=False).fit_transform(X)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"at least 2 voxels along every axis.*16 x 16 x 1.*n4=False"):
        n4_correct(_image(one))


def test_zscore_error_names_the_file(tmp_path):
    path = tmp_path / "t1.nii.gz"
    sitk.WriteImage(_image(np.full(SHAPE, 7.0, np.float32)), str(path))
    X = _cohort(tmp_path, path)
    with pytest.raises(ValueError, match=r"patient SARC_9, column 't1', file .*t1\.nii\.gz'.*intensity is constant"):
        VolumePreprocessor(size=8, n4=False, cache=False).fit_transform(X)


# ---------------------------------------------------------------------------- paths that are not images
def _finishes(function, timeout=20.0):
    """Run ``function`` in a thread; return the exception it raised (fail if it runs past ``timeout``)."""
    outcome = {}

    def target():
        try:
            function()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "still running: the path was read without a bound"
    return outcome.get("error")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("cache", [True, False])
def test_device_path_is_refused_without_reading_it(tmp_path, cache):
    X = _cohort(tmp_path, "/dev/zero")
    pre = VolumePreprocessor(size=8, n4=False, cache=cache, cache_dir=tmp_path / "c")
    error = _finishes(lambda: pre.fit_transform(X))
    assert isinstance(error, ImageReadError)
    assert "patient SARC_9, column 't1', file '/dev/zero': not a regular file or a folder" in str(error)
    error = _finishes(lambda: RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path / "c").fit_transform(X))
    assert isinstance(error, RadiomicsExtractionError) and "'/dev/zero': not a regular file" in str(error)


def test_folder_that_is_not_a_dicom_series_is_refused_quickly(tmp_path, monkeypatch):
    folder = tmp_path / "lib"
    (folder / "sub" / "deeper").mkdir(parents=True)
    for i in range(3):
        (folder / f"lib{i}.so").write_bytes(os.urandom(1000))
        (folder / "sub" / "deeper" / f"x{i}").write_bytes(b"x")
    X = _cohort(tmp_path, folder)
    with pytest.raises(ImageReadError, match=r"patient SARC_9, column 't1', file .*lib'.*no DICOM file"):
        VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "c").fit_transform(X)
    monkeypatch.setattr(_files, "MAX_FOLDER_FILES", 2)
    with pytest.raises(ImageReadError, match=r"more than 2 files"):
        VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "c").fit_transform(X)


def test_cli_preprocess_refuses_a_truncated_image(tiny_cohort, tmp_path, capsys):
    from sarcoma_survival.cli import main

    manifest = pd.read_csv(tiny_cohort.manifest)
    folder = tiny_cohort.manifest.parent
    for column in ("t1", "t2", "mask"):
        if column in manifest:
            manifest[column] = [str((folder / p).resolve()) for p in manifest[column]]
    cut = tmp_path / "cut_t1.nii.gz"
    data = Path(manifest.loc[3, "t1"]).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    manifest.loc[3, "t1"] = str(cut)
    manifest.iloc[:5].to_csv(tmp_path / "manifest.csv", index=False)
    assert main(["preprocess", str(tmp_path / "manifest.csv"), "--image-size", "12", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    patient = manifest.iloc[3, 0]
    assert err.count("\n") == 0 and f"patient {patient}, column 't1'" in err and "truncated" in err


def test_gzip_file_cut_inside_its_first_block_is_refused(tmp_path):
    """A small .nii.gz cut so early that its first 4 KiB do not decompress was read zero-filled."""
    path = tmp_path / "t1.nii.gz"
    sitk.WriteImage(_image(np.random.default_rng(0).normal(size=(8, 14, 12)).astype(np.float32)), str(path))
    _cut(path)
    with pytest.raises(ImageReadError, match=r"patient P2, column 't1', file .*t1.nii.gz.*truncated or damaged gzip"):
        read_image(path, patient="P2", column="t1")
