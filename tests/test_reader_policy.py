"""The reader policy of every image read (issue #23): detached data files only next to their
header, bounds checked from the header before allocating, DICOM geometry checked, damaged
RTSTRUCTs named."""
from __future__ import annotations

import gzip
import os

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from test_image_reading import SHAPE, _finishes, _mask_array
from test_image_reading import _t1_array as _array

from sarcoma_survival.preprocessing import VolumePreprocessor
from sarcoma_survival.preprocessing._io import ImageReadError, rasterize_rtstruct, read_image, read_mask
from sarcoma_survival.utils import file_digest


def _mhd(folder, data_file, name="t1.mhd", dims=(16, 16, 12)):
    path = folder / name
    path.write_text(
        "ObjectType = Image\nNDims = 3\nDimSize = {} {} {}\nElementType = MET_FLOAT\n"
        "ElementSpacing = 1 1 1\nElementByteOrderMSB = False\nElementDataFile = {}\n".format(*dims, data_file)
    )
    return path


def _nhdr(folder, data_file, name="t1.nhdr", sizes="16 16 12", encoding="raw"):
    path = folder / name
    path.write_text(f"NRRD0004\ntype: float\ndimension: 3\nsizes: {sizes}\nspacings: 1 1 1\n"
                    f"endian: little\nencoding: {encoding}\ndata file: {data_file}\n")
    return path


# ---------------------------------------------------------------------------- detached data files
@pytest.mark.parametrize("make", [_mhd, _nhdr])
@pytest.mark.parametrize("target", ["/dev/zero", "/etc/hostname", "../outside.raw", "sub/inner.raw", "LIST"])
def test_a_header_naming_data_outside_its_folder_is_refused(tmp_path, make, target):
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (tmp_path / "outside.raw").write_bytes(_array().tobytes())
    (folder / "sub" / "inner.raw").write_bytes(_array().tobytes())
    header = make(folder, target)
    with pytest.raises(ImageReadError, match=r"patient P, column 't1', file .*t1\.(mhd|nhdr)': its "):
        read_image(header, patient="P", column="t1")
    with pytest.raises(Exception, match=r"t1\.(mhd|nhdr)"):
        file_digest(header)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("make", [_mhd, _nhdr])
def test_a_fifo_next_to_the_header_is_refused_without_opening_it(tmp_path, make):
    os.mkfifo(tmp_path / "pipe.raw")
    header = make(tmp_path, "pipe.raw")
    error = _finishes(lambda: read_image(header, patient="P", column="t2"))
    assert isinstance(error, ImageReadError)
    assert "pipe.raw' (named by its" in str(error) and "not a regular file" in str(error)


def test_a_missing_data_file_is_named(tmp_path):
    header = _mhd(tmp_path, "t1.raw")
    with pytest.raises(ImageReadError, match=r"file .*t1\.mhd': its data file .*t1\.raw' .*does not exist"):
        read_image(header, patient="P", column="t1")


@pytest.mark.parametrize("make", [_mhd, _nhdr])
@pytest.mark.parametrize("name", ["t1.raw", "./t1.raw"])
def test_data_file_next_to_the_header_reads_and_is_part_of_the_digest(tmp_path, make, name):
    raw = tmp_path / "t1.raw"
    raw.write_bytes(_array(0).tobytes())
    header = make(tmp_path, name)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(header)), _array(0))
    before = file_digest(header)
    raw.write_bytes(_array(1).tobytes())  # same size, other voxels: the header is unchanged
    assert file_digest(header) != before


def test_the_volume_cache_sees_a_replaced_data_file(tmp_path):
    raw = tmp_path / "t1.raw"
    raw.write_bytes(_array(0).tobytes())
    header = _mhd(tmp_path, "t1.raw")
    mask = tmp_path / "mask.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(_mask_array()), str(mask))
    X = pd.DataFrame({"t1": [str(header)], "mask": [str(mask)]}, index=["P"])
    pre = VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "cache").fit(X)
    first = np.asarray(pre.transform(X))
    raw.write_bytes((_array(0) * 2 + 7).tobytes())
    second = np.asarray(pre.transform(X))
    assert not np.array_equal(first, second)


def test_a_file_of_another_format_is_refused(tmp_path):
    path = tmp_path / "t1.vtk"
    sitk.WriteImage(sitk.GetImageFromArray(_array()), str(path))
    with pytest.raises(ImageReadError, match=r"t1\.vtk'.*not an image format this package reads"):
        read_image(path)


# ---------------------------------------------------------------------------- sizes from the header
def test_voxel_bound_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "t1.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(_array()), str(path))
    assert read_image(path).GetSize() == SHAPE[::-1]
    monkeypatch.setattr(sitk.ImageFileReader, "Execute",
                        lambda self: pytest.fail("voxels read before the voxel bound"))
    with pytest.raises(ImageReadError, match=r"t1\.nii\.gz'.*\(3072 voxels\), more than the limit of 1000 voxels.*"
                                             r"max_voxels"):
        read_image(path, max_voxels=1000)
    mask = tmp_path / "mask.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(_mask_array()), str(mask))
    X = pd.DataFrame({"t1": [str(path)], "mask": [str(mask)]}, index=["P"])
    with pytest.raises(ImageReadError, match=r"patient P, column 't1'.*more than the limit of 1000"):
        VolumePreprocessor(size=8, n4=False, cache=False, max_voxels=1000).fit_transform(X)


def test_cli_preprocess_takes_max_voxels(tiny_cohort, capsys, tmp_path, monkeypatch):
    from sarcoma_survival.cli import main

    # an empty cache: a volume cached by an earlier test is not read again, so not bounded again
    monkeypatch.setenv("SARCOMA_SURVIVAL_CACHE", str(tmp_path / "cache"))
    assert main(["preprocess", str(tiny_cohort.manifest), "--image-size", "8", "--max-voxels", "100", "--quiet"]) == 2
    assert "more than the limit of 100 voxels" in capsys.readouterr().err


def test_a_small_compressed_nifti_declaring_a_huge_volume_is_refused_by_default(tmp_path, monkeypatch):
    # 1024**3 zero voxels compress to about 1 MB; the default bound refuses them from the header
    path = tmp_path / "bomb.nii.gz"
    sitk.WriteImage(sitk.Image(4, 4, 4, sitk.sitkUInt8), str(tmp_path / "small.nii"))
    header = bytearray((tmp_path / "small.nii").read_bytes()[:352])
    header[40:48] = np.array([3, 1024, 1024, 1024], "<i2").tobytes()
    with gzip.open(path, "wb") as out:
        out.write(bytes(header))
        zeros = bytes(1 << 24)
        for _ in range(64):
            out.write(zeros)
    monkeypatch.setattr(sitk.ImageFileReader, "Execute", lambda self: pytest.fail("voxels read"))
    with pytest.raises(ImageReadError, match=r"1024 x 1024 x 1024 voxels.*more than the limit"):
        read_image(path)


@pytest.mark.parametrize("encoding", ["ascii", "hex"])
def test_text_nrrd_is_bounded_by_its_length(tmp_path, monkeypatch, encoding):
    path = tmp_path / "t1.nrrd"
    path.write_bytes(f"NRRD0004\ntype: float\ndimension: 3\nsizes: 200 200 200\nendian: little\n"
                     f"encoding: {encoding}\n\n1 2 3\n".encode())
    monkeypatch.setattr(sitk.ImageFileReader, "Execute", lambda self: pytest.fail("voxels read"))
    with pytest.raises(ImageReadError, match=r"t1\.nrrd'.*200 x 200 x 200 voxels.*impossible in a file of"):
        read_image(path)


def test_a_text_nrrd_that_fits_its_length_still_reads(tmp_path):
    path = tmp_path / "t1.nrrd"
    values = np.arange(24, dtype=np.float32)
    path.write_bytes(b"NRRD0004\ntype: float\ndimension: 3\nsizes: 2 3 4\nencoding: ascii\n\n"
                     + " ".join(f"{v:g}" for v in values).encode() + b"\n")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(path)).ravel(), values)


@pytest.mark.parametrize("keep", [40, 400, 2000])
def test_a_nifti_gz_cut_inside_its_first_kilobytes_is_a_named_error(tmp_path, keep):
    path = tmp_path / "t1.nii.gz"
    noise = np.random.default_rng(0).normal(size=(32, 32, 32)).astype(np.float32)  # incompressible
    sitk.WriteImage(sitk.GetImageFromArray(noise), str(path))
    data = path.read_bytes()
    assert len(data) > keep
    path.write_bytes(data[:keep])
    with pytest.raises(ImageReadError, match=r"patient P, column 't1', file .*t1\.nii\.gz'.*truncated"):
        read_image(path, patient="P", column="t1")


@pytest.mark.parametrize("spacing", [(1e6, 1.0, 1.0), (1.0, 1.0, 1e-7)])
def test_implausible_spacing_is_refused(tmp_path, spacing):
    image = sitk.GetImageFromArray(_array())
    image.SetSpacing(spacing)
    path = tmp_path / "t1.nii.gz"
    sitk.WriteImage(image, str(path))
    with pytest.raises(ImageReadError, match=r"t1\.nii\.gz'.*voxel spacing .* outside the plausible range"):
        read_image(path)


# ---------------------------------------------------------------------------- DICOM series geometry
def _series(folder, positions, *, thickness=2.0):
    """A DICOM series of 16 x 16 slices at the given z positions (mm), one file each."""
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    series_uid, study_uid = generate_uid(), generate_uid()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for i, z in enumerate(positions):
        pixels = sitk.GetImageFromArray((np.full((1, 16, 16), 100 + i)).astype(np.int16))
        for tag, value in {
            "0008|0060": "MR", "0020|000d": study_uid, "0020|000e": series_uid,
            "0008|0018": generate_uid(), "0008|0016": "1.2.840.10008.5.1.4.1.1.4",
            "0020|0013": str(i + 1), "0020|0032": f"0\\0\\{z:g}", "0020|0037": "1\\0\\0\\0\\1\\0",
            "0018|0050": f"{thickness:g}", "0028|0030": "1\\1",
        }.items():
            pixels.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{i:03d}.dcm"))
        writer.Execute(pixels)
    return folder


def test_an_even_dicom_series_reads(tmp_path):
    image = read_image(_series(tmp_path / "s", [0, 2, 4, 6, 8]))
    assert image.GetSize() == (16, 16, 5)
    assert image.GetSpacing()[2] == pytest.approx(2.0)


@pytest.mark.parametrize("positions, message", [
    ([0, 2, 4, 8, 10, 12], r"slice\(s\) missing at 6\.000 mm"),
    ([0, 2, 4, 6, 6, 8], r"two slices .* same position \(6\.000 mm"),
    ([0, 2, 4, 5, 8, 10], r"not evenly spaced"),
])
def test_gaps_duplicates_and_uneven_slices_are_named(tmp_path, positions, message):
    folder = _series(tmp_path / "series", positions)
    with pytest.raises(ImageReadError, match=rf"patient P, column 't1', file .*series'.*{message}"):
        read_image(folder, patient="P", column="t1")


# ---------------------------------------------------------------------------- RTSTRUCT
def _reference():
    image = sitk.GetImageFromArray(np.zeros((6, 20, 20), np.float32))
    image.SetSpacing((1, 1, 2))
    image.SetOrigin((-10, -10, 0))
    return image


def _square(half, z, shift=0.0):
    return [(-half + shift, -half, z), (half + shift, -half, z), (half + shift, half, z), (-half + shift, half, z)]


def _write_rtstruct(path, contours):
    from test_preprocessing_volume import write_rtstruct

    return write_rtstruct(path, {"GTV_Mass": contours})


def test_rtstruct_with_a_nan_coordinate_names_the_file(tmp_path):
    import pydicom

    path = _write_rtstruct(tmp_path / "rs.dcm", [_square(4.2, 4.0)])
    ds = pydicom.dcmread(path)
    ds.ROIContourSequence[0].ContourSequence[0].ContourData[1] = "NaN"
    ds.save_as(path)
    with pytest.raises(ImageReadError, match=r"patient P, column 'mask', file .*rs\.dcm'.*NaN"):
        rasterize_rtstruct(path, _reference(), patient="P")


def test_rtstruct_with_a_coordinate_count_not_divisible_by_3_names_the_file(tmp_path):
    import pydicom

    path = _write_rtstruct(tmp_path / "rs.dcm", [_square(4.2, 4.0)])
    ds = pydicom.dcmread(path)
    contour = ds.ROIContourSequence[0].ContourSequence[0]
    contour.ContourData = list(contour.ContourData)[:-1]
    ds.save_as(path)
    with pytest.raises(ImageReadError, match=r"rs\.dcm'.*11 coordinates, not a multiple of 3"):
        rasterize_rtstruct(path, _reference())


def test_rtstruct_without_a_contour_sequence_names_the_file(tmp_path):
    import pydicom

    path = _write_rtstruct(tmp_path / "rs.dcm", [_square(4.2, 4.0)])
    ds = pydicom.dcmread(path)
    del ds.ROIContourSequence[0].ContourSequence
    ds.save_as(path)
    with pytest.raises(ImageReadError, match=r"rs\.dcm'.*ROI 'GTV_Mass' has no contour"):
        read_mask(path, _reference())


def test_rtstruct_contours_outside_the_image_warn(tmp_path):
    # one contour inside, one past the last slice, one half outside in x
    path = _write_rtstruct(tmp_path / "rs.dcm", [_square(4.2, 4.0), _square(4.2, 40.0), _square(4.2, 6.0, shift=8)])
    with pytest.warns(UserWarning, match=r"rs\.dcm': 2 of the 3 contours of ROI 'GTV_Mass' lie wholly or partly "
                                         r"outside the image"):
        mask = rasterize_rtstruct(path, _reference())
    assert sitk.GetArrayViewFromImage(mask)[2].sum() > 0


def test_t2_covering_part_of_the_tumour_warns(tmp_path):
    t1 = sitk.GetImageFromArray(_array())
    sitk.WriteImage(t1, str(tmp_path / "t1.nii.gz"))
    t2 = sitk.GetImageFromArray(_array(1)[:, :, :8].copy())  # x 0..7 of 0..15: half the tumour
    sitk.WriteImage(t2, str(tmp_path / "t2.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(_mask_array()), str(tmp_path / "mask.nii.gz"))
    X = pd.DataFrame({c: [str(tmp_path / f"{c}.nii.gz")] for c in ("t1", "t2", "mask")}, index=["P"])
    with pytest.warns(UserWarning, match=r"patient P, column 't2', file .*t2\.nii\.gz'.*covers only \d+% of the "
                                         r"tumour"):
        VolumePreprocessor(size=8, n4=False, cache=False).fit_transform(X)


@pytest.mark.parametrize("preprocessor", [None, "default"])
def test_radiomics_extractor_takes_max_voxels(tmp_path, preprocessor):
    from sarcoma_survival.radiomics import RadiomicsExtractionError, RadiomicsExtractor

    sitk.WriteImage(sitk.GetImageFromArray(_array()), str(tmp_path / "t1.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(_mask_array()), str(tmp_path / "mask.nii.gz"))
    X = pd.DataFrame({c: [str(tmp_path / f"{c}.nii.gz")] for c in ("t1", "mask")}, index=["P"])
    extractor = RadiomicsExtractor(preprocessor=preprocessor, max_voxels=1000, cache=False)
    with pytest.raises((ImageReadError, RadiomicsExtractionError), match=r"more than the limit of 1000 voxels"):
        extractor.fit_transform(X)


def test_cli_fit_takes_max_voxels(tiny_cohort, tmp_path, capsys):
    from sarcoma_survival.cli import main

    args = ["fit", str(tiny_cohort.manifest), "--model", "radiomics-rsf", "--max-voxels", "100",
            "--output", str(tmp_path / "m.ssm")]
    assert main(args) == 2
    assert "more than the limit of 100 voxels" in capsys.readouterr().err


@pytest.mark.parametrize("cls", ["VolumePreprocessor", "RadiomicsExtractor"])
def test_readers_saved_before_max_voxels_existed_still_load(cls):
    import pickle

    import sarcoma_survival

    reader = getattr(sarcoma_survival, cls)()
    del reader.max_voxels  # as in a file written before the parameter existed
    restored = pickle.loads(pickle.dumps(reader))
    assert restored.get_params()["max_voxels"] is None
