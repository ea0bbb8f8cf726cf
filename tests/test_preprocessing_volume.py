"""VolumePreprocessor on tiny synthetic volumes with known geometry."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from sklearn.base import clone

from sarcoma_survival.preprocessing import VolumePreprocessor, _volume
from sarcoma_survival.preprocessing._geometry import index_to_physical_matrix, resample
from sarcoma_survival.preprocessing._intensity import n4_correct
from sarcoma_survival.preprocessing._io import ImageReadError, rasterize_rtstruct, read_mask

PLAIN = dict(n4=False, normalize=None, antialias=False)


def make_image(array_zyx, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0), direction=None):
    image = sitk.GetImageFromArray(np.asarray(array_zyx))
    image.SetSpacing([float(s) for s in spacing])
    image.SetOrigin([float(o) for o in origin])
    if direction is not None:
        image.SetDirection(np.asarray(direction, dtype=float).ravel().tolist())
    return image


def physical_points(size_xyz, spacing, origin, direction):
    """Physical coordinates (z, y, x, 3) of every voxel centre of a grid."""
    ref = make_image(np.zeros(size_xyz[::-1], np.float32), spacing, origin, direction)
    matrix, org = index_to_physical_matrix(ref)
    k, j, i = np.meshgrid(*[np.arange(n) for n in size_xyz[::-1]], indexing="ij")
    index = np.stack([i, j, k], axis=-1).astype(float)
    return index @ matrix.T + org


def sample(function, size_xyz, spacing=(1, 1, 1), origin=(0, 0, 0), direction=None):
    """Image whose voxels hold ``function`` of their physical position."""
    direction = np.eye(3) if direction is None else direction
    values = function(physical_points(size_xyz, spacing, origin, direction)).astype(np.float32)
    return make_image(values, spacing, origin, direction)


def write(image, folder, name):
    path = folder / name
    sitk.WriteImage(image, str(path))
    return str(path)


def cohort(tmp_path, t1, mask, t2=None, patient="P1"):
    columns = {"t1": [write(t1, tmp_path, f"{patient}_t1.nii.gz")]}
    if t2 is not None:
        columns["t2"] = [write(t2, tmp_path, f"{patient}_t2.nii.gz")]
    columns["mask"] = [write(mask, tmp_path, f"{patient}_mask.nii.gz")]
    return pd.DataFrame(columns, index=[patient])


def box_mask(size_xyz, slices_zyx, **geometry):
    array = np.zeros(size_xyz[::-1], np.uint8)
    array[slices_zyx] = 1
    return make_image(array, **geometry)


def grid_points(geometry):
    return physical_points(geometry["size"], geometry["spacing"], geometry["origin"],
                           np.reshape(geometry["direction"], (3, 3)))


def linear(p):
    return 3.0 * p[..., 0] - 2.0 * p[..., 1] + 0.5 * p[..., 2] + 200.0


# ---------------------------------------------------------------------------- geometry
def test_crop_position_is_exact_on_an_aligned_grid(tmp_path):
    rng = np.random.default_rng(0)
    t1 = make_image(rng.normal(100, 10, (20, 30, 16)).astype(np.float32))
    mask = box_mask((16, 30, 20), (slice(10, 14), slice(20, 26), slice(5, 9)))
    X = cohort(tmp_path, t1, mask)
    vol = VolumePreprocessor(size=(4, 6, 4), margin_mm=0, **PLAIN).fit_transform(X)
    expected = sitk.GetArrayFromImage(t1)[10:14, 20:26, 5:9]
    np.testing.assert_allclose(vol[0][0], expected, rtol=1e-6)
    geo = vol.geometry(0)
    assert geo["spacing"] == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(geo["origin"], [5, 20, 10], atol=1e-9)


def test_fixed_spacing_pads_outside_the_box_with_fill_value(tmp_path):
    t1 = make_image(np.full((20, 30, 16), 7.0, np.float32))
    mask = box_mask((16, 30, 20), (slice(10, 14), slice(20, 26), slice(5, 9)))
    X = cohort(tmp_path, t1, mask)
    out = VolumePreprocessor(size=10, spacing=1.0, margin_mm=0, fill_value=-1, **PLAIN).fit_transform(X)[0][0]
    # box 4 (z) x 6 (y) x 4 (x) voxels centred in a 10^3 grid of the same spacing
    assert np.all(out[3:7, 2:8, 3:7] == 7.0)
    assert (out == 7.0).sum() == 4 * 6 * 4
    assert np.all(out[out != 7.0] == -1)


def test_fit_mode_keeps_aspect_ratio(tmp_path):
    t1 = make_image(np.full((40, 40, 40), 5.0, np.float32))
    mask = box_mask((40, 40, 40), (slice(10, 30), slice(15, 25), slice(18, 24)))  # 20 x 10 x 6 mm
    X = cohort(tmp_path, t1, mask)
    vol = VolumePreprocessor(size=20, margin_mm=0, **PLAIN).fit_transform(X)
    out = vol[0][0]
    assert vol.geometry(0)["spacing"] == [1.0, 1.0, 1.0]  # longest side (20 mm) fits 20 voxels
    filled = np.argwhere(out == 5.0)
    assert (filled.max(0) - filled.min(0) + 1).tolist() == [20, 10, 6]


@pytest.mark.parametrize("spacing", [(0.5, 0.5, 3.0), (1.3, 0.7, 2.2)])
def test_anisotropic_input_sampled_at_physical_positions(tmp_path, spacing):
    size = (60, 50, 14)
    t1 = sample(linear, size, spacing, origin=(-10, 5, -20))
    mask = box_mask(size, (slice(4, 9), slice(20, 30), slice(25, 40)), spacing=spacing, origin=(-10, 5, -20))
    X = cohort(tmp_path, t1, mask)
    vol = VolumePreprocessor(size=12, margin_mm=2, fill_value=np.nan, **PLAIN).fit_transform(X)
    out, geo = vol[0][0], vol.geometry(0)
    expected = linear(grid_points(geo))
    inside = np.isfinite(out)
    assert inside.mean() > 0.3
    np.testing.assert_allclose(out[inside], expected[inside], rtol=1e-4)  # linear interpolation is exact


def test_lps_and_ras_storage_give_the_same_output(tmp_path):
    rng = np.random.default_rng(1)
    array = rng.normal(100, 20, (12, 20, 24)).astype(np.float32)
    label = np.zeros(array.shape, np.uint8)
    label[4:8, 6:14, 8:15] = 1
    spacing = (0.8, 0.9, 2.5)
    lps = make_image(array, spacing, origin=(10, -5, 3))
    lps_mask = make_image(label, spacing, origin=(10, -5, 3))
    # same physical content stored with x and y axes reversed (RAS-like direction)
    far_corner = lps.TransformIndexToPhysicalPoint((23, 19, 0))
    ras = make_image(array[:, ::-1, ::-1].copy(), spacing, origin=far_corner, direction=np.diag([-1, -1, 1]))
    ras_mask = make_image(label[:, ::-1, ::-1].copy(), spacing, origin=far_corner, direction=np.diag([-1, -1, 1]))
    for x in range(0, 24, 5):
        assert ras.GetPixel(23 - x, 19, 0) == lps.GetPixel(x, 0, 0)
        np.testing.assert_allclose(ras.TransformIndexToPhysicalPoint((23 - x, 19, 0)),
                                   lps.TransformIndexToPhysicalPoint((x, 0, 0)))
    pre = VolumePreprocessor(size=16, n4=False, cache=False)
    a = pre.fit_transform(cohort(tmp_path, lps, lps_mask, patient="LPS"))
    b = pre.fit_transform(cohort(tmp_path, ras, ras_mask, patient="RAS"))
    np.testing.assert_allclose(a[0], b[0], atol=1e-4)
    assert a.geometry(0)["direction"] == [1, 0, 0, 0, 1, 0, 0, 0, 1]


def rotation(z_deg, x_deg):
    cz, sz = np.cos(np.radians(z_deg)), np.sin(np.radians(z_deg))
    cx, sx = np.cos(np.radians(x_deg)), np.sin(np.radians(x_deg))
    return np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]]) @ np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])


def blob(p):
    center = np.array([20.0, 18.0, 15.0])
    return 100 + 80 * np.exp(-np.sum((p - center) ** 2, axis=-1) / (2 * 6.0**2)) + 0.5 * p[..., 0]


def test_t2_on_a_rotated_grid_is_aligned_to_t1(tmp_path):
    t1 = sample(blob, (40, 36, 30))
    mask_array = (np.linalg.norm(physical_points((40, 36, 30), (1, 1, 1), (0, 0, 0), np.eye(3))
                                 - [20, 18, 15], axis=-1) < 6).astype(np.uint8)
    mask = make_image(mask_array)
    direction = rotation(30, 15)
    t2 = sample(blob, (50, 50, 30), spacing=(0.9, 0.9, 1.6), origin=(12, -14, -8), direction=direction)
    X = cohort(tmp_path, t1, mask, t2)
    vol = VolumePreprocessor(size=24, margin_mm=4, fill_value=np.nan, **PLAIN).fit_transform(X)
    t1_out, t2_out = vol[0]
    expected = blob(grid_points(vol.geometry(0)))
    both = np.isfinite(t1_out) & np.isfinite(t2_out)
    assert both.mean() > 0.5
    np.testing.assert_allclose(t1_out[both], expected[both], atol=2.0)
    np.testing.assert_allclose(t2_out[both], expected[both], atol=2.5)
    assert np.corrcoef(t1_out[both], t2_out[both])[0, 1] > 0.99
    # control: the same T2 array read as if axis-aligned is clearly misaligned
    t2_wrong = sitk.Image(t2)
    t2_wrong.SetDirection(np.eye(3).ravel().tolist())
    X_wrong = cohort(tmp_path, t1, mask, t2_wrong, patient="P2")
    bad = VolumePreprocessor(size=24, margin_mm=4, fill_value=np.nan, **PLAIN).fit_transform(X_wrong)[0][1]
    ok = both & np.isfinite(bad)
    assert np.abs(bad[ok] - expected[ok]).max() > 20


def test_output_geometry_maps_back_onto_t1(tmp_path):
    t1 = sample(blob, (40, 36, 30), spacing=(0.9, 1.1, 2.0))
    mask = box_mask((40, 36, 30), (slice(5, 10), slice(12, 20), slice(15, 25)), spacing=(0.9, 1.1, 2.0))
    X = cohort(tmp_path, t1, mask)
    pre = VolumePreprocessor(size=16, **PLAIN).fit(X)
    vol = pre.transform(X)
    assert pre.output_geometry(X.iloc[0]) == {k: vol.geometry(0)[k] for k in ("origin", "spacing", "direction", "size")}
    back = resample(vol.to_image(0, vol[0][0]), t1, default=np.nan)
    values = sitk.GetArrayFromImage(back)
    truth = sitk.GetArrayFromImage(t1)
    tumor = sitk.GetArrayFromImage(mask) > 0
    np.testing.assert_allclose(values[tumor], truth[tumor], rtol=0.03)  # two linear interpolations


# ---------------------------------------------------------------------------- intensity
def bias_phantom(size=40):
    p = physical_points((size,) * 3, (2, 2, 2), (0, 0, 0), np.eye(3))
    center = np.full(3, size - 1.0)
    radius = np.linalg.norm(p - center, axis=-1)
    tissue = np.where(radius < 0.8 * size, 100.0, 0.0)
    tissue = np.where(radius < 0.3 * size, 160.0, tissue)
    rng = np.random.default_rng(2)
    tissue = tissue + (tissue > 0) * rng.normal(0, 2, tissue.shape)
    bias = np.exp(0.35 * (p[..., 0] - center[0]) / size + 0.2 * (p[..., 2] - center[2]) / size)
    return tissue, bias, radius


def test_n4_reduces_a_known_multiplicative_bias_field():
    tissue, bias, radius = bias_phantom()
    image = make_image((tissue * bias).astype(np.float32), spacing=(2, 2, 2))
    corrected = sitk.GetArrayFromImage(n4_correct(image, shrink=2))
    shell = (radius > 0.35 * 40) & (radius < 0.75 * 40)  # homogeneous tissue 100
    cv_before = (tissue * bias)[shell].std() / (tissue * bias)[shell].mean()
    cv_after = corrected[shell].std() / corrected[shell].mean()
    cv_truth = tissue[shell].std() / tissue[shell].mean()
    assert cv_after < 0.5 * cv_before
    assert cv_after < 2 * cv_truth
    # the corrected / true ratio is nearly constant (a global scale is not identifiable)
    ratio = corrected[shell] / tissue[shell]
    assert ratio.std() / ratio.mean() < 0.5 * (bias[shell].std() / bias[shell].mean())


def test_n4_switch_in_the_transformer(tmp_path):
    tissue, bias, radius = bias_phantom(32)
    t1 = make_image((tissue * bias).astype(np.float32), spacing=(2, 2, 2))
    mask = make_image((radius < 0.75 * 32).astype(np.uint8), spacing=(2, 2, 2))
    X = cohort(tmp_path, t1, mask)
    shell = resample(make_image(((radius > 0.35 * 32) & (radius < 0.7 * 32)).astype(np.uint8), spacing=(2, 2, 2)),
                     t1)
    cvs = {}
    for n4 in (False, True):
        channels, _ = VolumePreprocessor(n4=n4, n4_shrink=2, normalize=None).fit(X).load_native(X.iloc[0])
        values = sitk.GetArrayFromImage(channels["t1"])[sitk.GetArrayFromImage(shell) > 0]
        cvs[n4] = values.std() / values.mean()
    assert cvs[True] < 0.5 * cvs[False]


@pytest.mark.parametrize("region", ["foreground", "image", "crop", "tumor"])
def test_zscore_statistics_over_the_documented_region(tmp_path, region):
    rng = np.random.default_rng(3)
    array = np.zeros((20, 24, 24), np.float32)
    array[2:18, 3:21, 3:21] = rng.normal(300, 40, (16, 18, 18))  # body in air
    array[8:12, 10:14, 10:14] += 200  # bright tumour
    t1 = make_image(array, spacing=(1, 1, 2))
    mask = box_mask((24, 24, 20), (slice(8, 12), slice(10, 14), slice(10, 14)), spacing=(1, 1, 2))
    X = cohort(tmp_path, t1, mask)
    pre = VolumePreprocessor(n4=False, normalize=region, margin_mm=3).fit(X)
    channels, native_mask = pre.load_native(X.iloc[0])
    out = sitk.GetArrayFromImage(channels["t1"])
    selector = {
        "foreground": array > 0,
        "image": np.ones(array.shape, bool),
        "tumor": sitk.GetArrayFromImage(native_mask) > 0,
        # tumour box (z 8:12 -> 16..24 mm, x/y 10:14) plus 3 mm, on the T1 grid
        "crop": np.zeros(array.shape, bool),
    }
    selector["crop"][6:14, 6:18, 6:18] = True
    values = out[selector[region]]
    assert abs(values.mean()) < 1e-4 and abs(values.std() - 1) < 1e-4
    geometry = pre.transform(X).geometry(0)
    mean, std = geometry["zscore"]["t1"]
    np.testing.assert_allclose([mean, std], [array[selector[region]].mean(), array[selector[region]].std()],
                               rtol=1e-5)


def test_masking_blanks_outside_tumor_and_margin(tmp_path):
    t1 = make_image(np.full((30, 30, 30), 9.0, np.float32))
    mask = box_mask((30, 30, 30), (slice(12, 18), slice(12, 18), slice(12, 18)))
    X = cohort(tmp_path, t1, mask)
    tumor = VolumePreprocessor(size=14, spacing=1.0, margin_mm=4, masking="tumor", **PLAIN).fit_transform(X)[0][0]
    assert (tumor == 9.0).sum() == 6**3
    margin = VolumePreprocessor(size=14, spacing=1.0, margin_mm=4, masking="margin", **PLAIN).fit_transform(X)[0][0]
    box = VolumePreprocessor(size=14, spacing=1.0, margin_mm=4, **PLAIN).fit_transform(X)[0][0]
    assert 6**3 < (margin == 9.0).sum() < (box == 9.0).sum() == 14**3
    assert margin[0, 0, 0] == 0.0 and margin[7, 7, 0] == 9.0  # box corner is > 4 mm away, face centre is not


# ---------------------------------------------------------------------------- cache
def small_cohort(tmp_path):
    rng = np.random.default_rng(4)
    t1 = make_image(rng.uniform(50, 150, (16, 20, 20)).astype(np.float32))
    mask = box_mask((20, 20, 16), (slice(6, 10), slice(8, 12), slice(8, 12)))
    return cohort(tmp_path, t1, mask)


def test_cache_is_reused_and_keyed_by_params_and_file_contents(tmp_path, monkeypatch):
    X = small_cohort(tmp_path)
    cache = tmp_path / "cache"
    first = VolumePreprocessor(size=8, n4=False, cache_dir=cache).fit_transform(X)
    files = sorted((cache / "volumes").rglob("*.npy"))
    assert len(files) == 1 and files[0].with_suffix(".json").exists()
    calls = []
    original = _volume._process_patient
    monkeypatch.setattr(_volume, "_process_patient", lambda *a: calls.append(a) or original(*a))
    again = VolumePreprocessor(size=8, n4=False, cache_dir=cache).fit_transform(X)
    assert calls == [] and np.array_equal(np.asarray(first), np.asarray(again))
    VolumePreprocessor(size=8, n4=False, margin_mm=3, cache_dir=cache).fit_transform(X)
    assert len(calls) == 1
    sitk.WriteImage(make_image(np.full((16, 20, 20), 3.0, np.float32) * np.arange(20)), X.loc["P1", "t1"])
    changed = VolumePreprocessor(size=8, n4=False, cache_dir=cache).fit_transform(X)
    assert len(calls) == 2 and not np.allclose(np.asarray(first), np.asarray(changed))
    assert len(list((cache / "volumes").rglob("*.npy"))) == 3


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    X = small_cohort(tmp_path)
    cache = tmp_path / "cache"

    def crash(path, array):
        with open(path, "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(_volume.np, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        VolumePreprocessor(size=8, n4=False, cache_dir=cache).fit_transform(X)
    assert list((cache / "volumes").rglob("*.npy")) == []
    assert [p.name for p in (cache / "volumes").rglob("*") if p.is_file() and p.name.startswith(".")] == []
    monkeypatch.undo()
    vol = VolumePreprocessor(size=8, n4=False, cache_dir=cache).fit_transform(X)
    assert vol[0].shape == (1, 8, 8, 8)


def test_no_cache_n_jobs_and_array_like(tmp_path):
    frames = []
    for i in range(3):
        sub = tmp_path / f"p{i}"
        sub.mkdir()
        frames.append(small_cohort(sub).rename(index={"P1": f"P{i}"}))
    X = pd.concat(frames)
    cached = VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "c").fit_transform(X)
    memory = VolumePreprocessor(size=8, n4=False, cache=False).fit_transform(X)
    parallel = VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "c2", n_jobs=2).fit_transform(X)
    assert cached.shape == (3, 1, 8, 8, 8) and len(cached) == 3 and cached.index == ["P0", "P1", "P2"]
    np.testing.assert_array_equal(np.asarray(cached), np.asarray(memory))
    np.testing.assert_array_equal(np.asarray(cached), np.asarray(parallel))
    assert np.asarray(cached).dtype == np.float32
    sub = cached[[2, 0]]
    assert sub.index == ["P2", "P0"] and np.array_equal(sub[0], cached[2]) and cached[1:].shape[0] == 2
    assert cached[-1].shape == (1, 8, 8, 8)
    restored = pickle.loads(pickle.dumps(cached))
    np.testing.assert_array_equal(np.asarray(restored), np.asarray(cached))


# ---------------------------------------------------------------------------- estimator contract
def test_sklearn_contract_and_channels(tmp_path):
    pre = VolumePreprocessor(size=(8, 10, 12), margin_mm=2.5)
    assert clone(pre).get_params() == pre.get_params()
    X = small_cohort(tmp_path)
    fitted = VolumePreprocessor(size=(8, 10, 12), n4=False, cache=False).fit(X)
    assert fitted.channels_ == ["t1"] and fitted.n_channels_ == 1
    assert fitted.transform(X).shape == (1, 1, 8, 10, 12)
    pickle.loads(pickle.dumps(fitted)).transform(X)
    X2 = X.assign(t2=X["t1"])
    two = VolumePreprocessor(size=8, n4=False, cache=False).fit(X2)
    assert two.channels_ == ["t1", "t2"]
    out = two.transform(X2)[0]
    np.testing.assert_array_equal(out[0], out[1])
    with pytest.raises(ValueError, match="'t2'"):
        two.transform(X)
    with pytest.raises(ValueError, match="size"):
        VolumePreprocessor(size=(8, 8)).fit(X)
    with pytest.raises(ValueError, match="normalize"):
        VolumePreprocessor(normalize="whole").fit(X)
    with pytest.raises(ValueError, match="t1"):
        VolumePreprocessor().fit(X.drop(columns="t1"))


# ---------------------------------------------------------------------------- errors
def test_errors_name_patient_and_file(tmp_path):
    X = small_cohort(tmp_path)
    pre = VolumePreprocessor(size=8, n4=False, cache=False)
    missing = X.assign(t1=str(tmp_path / "nope.nii.gz"))
    with pytest.raises(ImageReadError, match=r"patient P1.*'t1'.*nope\.nii\.gz.*does not exist"):
        pre.fit(missing).transform(missing)
    garbage = tmp_path / "garbage.nii.gz"
    garbage.write_bytes(b"not an image at all")
    with pytest.raises(ImageReadError, match=r"patient P1.*garbage\.nii\.gz.*cannot be read"):
        pre.fit(X).transform(X.assign(t1=str(garbage)))
    with pytest.raises(ImageReadError, match=r"patient P1, column 'mask'.*missing value"):
        pre.fit(X).transform(X.assign(mask=np.nan))


@pytest.mark.parametrize("case, message", [
    ("empty", "mask is empty"),
    ("nonbinary", r"not binary \(values \[0, 1, 2\]\)"),
    ("far", "does not overlap the T1"),
    ("t2far", "'t2'.*does not overlap the T1"),
])
def test_bad_masks_and_images(tmp_path, case, message):
    t1 = make_image(np.full((10, 12, 12), 5.0, np.float32))
    label = np.zeros((10, 12, 12), np.uint8)
    label[3:6, 3:6, 3:6] = 1
    t2 = None
    if case == "empty":
        label[:] = 0
    elif case == "nonbinary":
        label[7, 7, 7] = 2
    mask = make_image(label, origin=(500, 0, 0) if case == "far" else (0, 0, 0))
    if case == "t2far":
        t2 = make_image(np.full((10, 12, 12), 5.0, np.float32), origin=(0, 0, 900))
    X = cohort(tmp_path, t1, mask, t2, patient="SARC_7")
    with pytest.raises(ImageReadError, match=f"patient SARC_7.*{message}"):
        VolumePreprocessor(size=8, **PLAIN, cache=False).fit_transform(X)


def test_mask_on_a_larger_overlapping_grid_is_resampled(tmp_path):
    t1 = make_image(np.full((10, 12, 12), 5.0, np.float32), spacing=(1, 1, 2))
    big = np.zeros((20, 30, 30), np.uint8)  # 0.5 mm grid, shifted, larger than the T1
    big[6:10, 10:16, 12:20] = 1
    mask = make_image(big, spacing=(0.5, 0.5, 1.0), origin=(-2, -2, -2))
    on_t1 = read_mask(write(mask, tmp_path, "m.nii.gz"), t1)
    assert on_t1.GetSize() == t1.GetSize() and on_t1.GetSpacing() == t1.GetSpacing()
    volume_mm3 = sitk.GetArrayFromImage(on_t1).sum() * 2.0
    assert volume_mm3 == pytest.approx(big.sum() * 0.25, rel=0.35)
    with pytest.raises(ImageReadError, match="does not overlap"):
        read_mask(write(make_image(big, spacing=(0.5, 0.5, 1.0), origin=(100, 0, 0)), tmp_path, "f.nii.gz"), t1)


def test_mask_label_selects_one_label(tmp_path):
    t1 = make_image(np.full((10, 12, 12), 5.0, np.float32))
    label = np.zeros((10, 12, 12), np.uint8)
    label[3:6, 3:6, 3:6] = 2
    label[7:9, 7:9, 7:9] = 1
    path = write(make_image(label), tmp_path, "m.nii.gz")
    assert sitk.GetArrayFromImage(read_mask(path, t1, label=2)).sum() == 27


# ---------------------------------------------------------------------------- RTSTRUCT
def write_rtstruct(path, contours_by_roi):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.Modality = "RTSTRUCT"
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    rois, roi_contours = [], []
    for number, (name, contours) in enumerate(contours_by_roi.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName = number, name
        rois.append(roi)
        items = []
        for points in contours:
            item = Dataset()
            item.ContourGeometricType = "CLOSED_PLANAR"
            item.NumberOfContourPoints = len(points)
            item.ContourData = [f"{v:g}" for v in np.ravel(points)]
            items.append(item)
        roi_contour = Dataset()
        roi_contour.ReferencedROINumber = number
        roi_contour.ContourSequence = Sequence(items)
        roi_contours.append(roi_contour)
    ds.StructureSetROISequence = Sequence(rois)
    ds.ROIContourSequence = Sequence(roi_contours)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_rtstruct_rasterization_with_hole(tmp_path):
    reference = make_image(np.zeros((6, 20, 20), np.float32), spacing=(1, 1, 2), origin=(-10, -10, 0))

    def square(half, z):
        return [(-half, -half, z), (half, -half, z), (half, half, z), (-half, half, z)]

    path = write_rtstruct(tmp_path / "rs.dcm", {
        "GTV_Edema": [square(9.2, 4.0)],
        "GTV_Mass": [square(5.2, 4.0), square(2.2, 4.0), square(5.2, 6.0)],  # ring on z=4 mm, full on z=6 mm
    })
    mask = sitk.GetArrayFromImage(rasterize_rtstruct(path, reference))
    assert mask[2].sum() == 11 * 11 - 5 * 5 and mask[3].sum() == 11 * 11 and mask.sum() == 11 * 11 * 2 - 25
    assert mask[2, 10, 10] == 0 and mask[2, 6, 6] == 1
    folder_mask = read_mask(tmp_path, reference)  # a folder holding the RTSTRUCT works too
    assert sitk.GetArrayFromImage(folder_mask).sum() == mask.sum()
    with pytest.raises(ImageReadError, match=r"ROI 'Tumour' not found.*GTV_Edema"):
        rasterize_rtstruct(path, reference, roi_name="Tumour", patient="P9")
