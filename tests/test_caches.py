"""Caches never serve a wrong entry: checksums, stale digests, temp files, modes (issue #15)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from sarcoma_survival.preprocessing import VolumePreprocessor, _volume
from sarcoma_survival.radiomics import RadiomicsExtractor
from sarcoma_survival.utils import _files
from sarcoma_survival.utils._files import atomic_path, clean_stale_temp_files, file_digest

SHAPE = (12, 16, 16)


def _patient(folder, seed=0, patient="P1"):
    folder.mkdir(parents=True, exist_ok=True)
    t1 = np.random.default_rng(seed).uniform(50, 150, SHAPE).astype(np.float32)
    zz, yy, xx = np.indices(SHAPE)
    label = ((((zz - 5.7) / 3.1) ** 2 + ((yy - 7.8) / 4.3) ** 2 + ((xx - 8.2) / 3.7) ** 2) <= 1).astype(np.uint8)
    paths = {}
    for name, array in [("t1", t1), ("mask", label)]:
        paths[name] = str(folder / f"{patient}_{name}.nii.gz")
        sitk.WriteImage(sitk.GetImageFromArray(array), paths[name])
    return pd.DataFrame([paths], index=[patient])


def _entry(cache):
    (npy,) = sorted((cache / "volumes").rglob("*.npy"))
    return npy, npy.with_suffix(".json")


@pytest.fixture
def counted(monkeypatch):
    calls = []
    original = _volume._process_patient
    monkeypatch.setattr(_volume, "_process_patient", lambda *a: calls.append(a[1]) or original(*a))
    return calls


# ---------------------------------------------------------------------------- volume cache entries
@pytest.mark.parametrize("damage", ["json_garbage", "json_values", "npy_truncated", "npy_values", "npy_missing"])
def test_bad_volume_entry_is_logged_and_recomputed(tmp_path, counted, caplog, damage):
    X = _patient(tmp_path)
    cache = tmp_path / "cache"
    pre = VolumePreprocessor(size=8, n4=False, cache_dir=cache)
    first = np.asarray(pre.fit_transform(X))
    npy, meta = _entry(cache)
    if damage == "json_garbage":
        meta.write_text('{"geometry": {"origin": [0, ')
    elif damage == "json_values":
        record = json.loads(meta.read_text())
        record["record"]["geometry"]["spacing"] = [9.0, 9.0, 9.0]
        meta.write_text(json.dumps(record))
    elif damage == "npy_truncated":
        data = npy.read_bytes()
        npy.write_bytes(data[: len(data) // 2])
    elif damage == "npy_values":
        np.save(npy, np.zeros_like(first[0]))
    else:
        npy.unlink()
    _files._VERIFIED.clear()  # a new process
    with caplog.at_level(logging.WARNING, logger="sarcoma_survival"):
        again = pre.transform(X)
    assert counted == ["P1", "P1"]
    np.testing.assert_array_equal(np.asarray(again), first)
    assert again.geometry(0)["spacing"] != [9.0, 9.0, 9.0]
    messages = [r.getMessage() for r in caplog.records]
    assert any(str(meta if damage.startswith("json") else npy) in m and "recomput" in m for m in messages), messages
    # the recomputed entry is good again: read from the cache, no warning
    caplog.clear()
    _files._VERIFIED.clear()
    pre.transform(X)
    assert counted == ["P1", "P1"] and not caplog.records


def test_checksum_is_verified_once_per_entry_per_process(tmp_path, counted, monkeypatch):
    X = _patient(tmp_path)
    pre = VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "cache").fit(X)
    pre.transform(X)
    _files._VERIFIED.clear()
    hashed = []
    original = _files._checksum_of_file
    monkeypatch.setattr(_files, "_checksum_of_file", lambda p: hashed.append(p) or original(p))
    volumes = pre.transform(X)
    pre.transform(X)
    for _ in range(3):  # epochs
        volumes[0]
    assert len(hashed) == 1 and counted == ["P1"]


def test_volume_read_after_the_entry_was_damaged_names_the_file(tmp_path):
    X = _patient(tmp_path)
    volumes = VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "cache").fit_transform(X)
    npy, _ = _entry(tmp_path / "cache")
    npy.write_bytes(npy.read_bytes()[:100])
    with pytest.raises(ValueError, match=rf"patient P1: cached volume {npy}.*cannot be read.*transform again"):
        volumes[0]


# ---------------------------------------------------------------------------- radiomics cache entries
@pytest.mark.parametrize("damage", ["garbage", "values"])
def test_bad_radiomics_entry_is_logged_and_recomputed(tmp_path, caplog, damage):
    X = _patient(tmp_path)
    ext = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path / "cache").fit(X)
    first = ext.transform(X)
    (entry,) = (tmp_path / "cache" / "radiomics").glob("*.json")
    if damage == "garbage":
        entry.write_text("{not json")
    else:
        record = json.loads(entry.read_text())
        record["record"]["features"]["t1_original_firstorder_Mean"] = 0.0
        entry.write_text(json.dumps(record))
    with caplog.at_level(logging.WARNING, logger="sarcoma_survival"):
        again = ext.transform(X)
    pd.testing.assert_frame_equal(again, first)
    assert any(str(entry) in r.getMessage() and "recomput" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------- the digest helper
def test_digest_sees_a_replacement_with_the_same_size_and_mtime(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"A" * 64)
    before = file_digest(path)
    stat = path.stat()
    time.sleep(0.05)  # ctime has a coarse clock on some file systems
    path.write_bytes(b"B" * 64)  # same size, in place (cp -p)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert file_digest(path) != before
    other = tmp_path / "b.bin"
    other.write_bytes(b"C" * 64)
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(other, path)  # tar / rsync -t: a new inode under the old name
    assert file_digest(path) == hashlib.sha256(b"C" * 64).hexdigest()


def test_digest_of_a_dicom_folder_covers_its_files(tmp_path):
    folder = tmp_path / "series"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.dcm").write_bytes(b"\0" * 128 + b"DICM" + bytes([i]) * 10)
    first = file_digest(folder)
    (folder / "1.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\7" * 10)
    assert file_digest(folder) != first
    (folder / "1.dcm").write_bytes(b"\0" * 128 + b"DICM" + bytes([1]) * 10)
    assert file_digest(folder) == first


def test_one_digest_helper():
    import sarcoma_survival.radiomics._patient as patient_module

    assert not hasattr(_files, "hash_file") and not hasattr(_volume, "_digest")
    assert not hasattr(patient_module, "file_digest")


# ---------------------------------------------------------------------------- temp files and modes
def test_cache_files_follow_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        X = _patient(tmp_path)
        VolumePreprocessor(size=8, n4=False, cache_dir=tmp_path / "cache").fit_transform(X)
        RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path / "cache").fit_transform(X)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(files) == 3
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o664)}


def test_stale_temp_files_are_cleaned_young_ones_kept(tmp_path):
    X = _patient(tmp_path)
    cache = tmp_path / "cache"
    VolumePreprocessor(size=8, n4=False, cache_dir=cache).fit_transform(X)
    npy, _ = _entry(cache)
    try:
        with atomic_path(npy) as tmp:
            tmp.write_bytes(b"partial")
            stale = tmp
            raise KeyboardInterrupt  # a killed write that left its file (simulated below)
    except KeyboardInterrupt:
        pass
    stale.write_bytes(b"partial")  # the kill came before the clean-up could run
    with atomic_path(npy) as tmp:
        young = tmp  # another worker's write in progress
        young.write_bytes(b"in progress")
        two_days_ago = time.time() - 2 * 86400
        os.utime(stale, (two_days_ago, two_days_ago))
        _files._CLEANED.clear()  # a new process
        VolumePreprocessor(size=8, n4=False, cache_dir=cache).fit_transform(X)
        assert not stale.exists() and young.exists() and npy.exists()
        assert clean_stale_temp_files(cache, max_age=0) == 1 and not young.exists()
        young.write_bytes(b"done")


def test_the_cleaner_deletes_only_temporary_files_it_wrote(tmp_path):
    """Before, any old file named like ``.*.tmp-*`` under the cache was deleted."""
    with atomic_path(tmp_path / "a.npy") as tmp:
        ours = tmp
    ours.write_bytes(b"left by a killed write")
    lookalikes = [tmp_path / ".notes.tmp-draft.txt",  # a user's own file
                  tmp_path / ours.name.replace(ours.name[-12:-4], "00000000"),  # a wrong tag
                  tmp_path / ours.name.replace("a.npy", "b.npy", 1)]  # tag of another target
    for path in lookalikes:
        path.write_bytes(b"keep me")
    old = time.time() - 2 * 86400
    for path in [ours, *lookalikes]:
        os.utime(path, (old, old))
    assert clean_stale_temp_files(tmp_path) == 1
    assert not ours.exists() and all(path.read_bytes() == b"keep me" for path in lookalikes)


def test_temporary_files_keep_every_suffix_of_their_target(tmp_path):
    with atomic_path(tmp_path / "overlay.nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz") and tmp.name.startswith(".overlay.nii.gz.tmp-")
        tmp.write_bytes(b"x")
    assert (tmp_path / "overlay.nii.gz").read_bytes() == b"x"


# ---------------------------------------------------------------------------- N4-corrected native images
@pytest.fixture
def n4_calls(monkeypatch):
    from sarcoma_survival.preprocessing import _volume_patient

    calls = []
    original = _volume_patient.n4_correct
    monkeypatch.setattr(_volume_patient, "n4_correct", lambda image, **kw: calls.append(1) or original(image, **kw))
    return calls


def _two_channel_patient(folder):
    X = _patient(folder)
    t2 = np.random.default_rng(7).uniform(20, 90, SHAPE).astype(np.float32) * np.linspace(0.8, 1.2, SHAPE[2])
    X["t2"] = str(folder / "P1_t2.nii.gz")
    sitk.WriteImage(sitk.GetImageFromArray(t2.astype(np.float32)), X["t2"].iloc[0])
    return X


def test_n4_runs_once_per_channel_for_volumes_of_any_size_and_for_radiomics(tmp_path, n4_calls):
    X = _two_channel_patient(tmp_path)
    cache = tmp_path / "cache"
    uncached = np.asarray(VolumePreprocessor(size=8, cache=False).fit_transform(X))
    assert len(n4_calls) == 2
    n4_calls.clear()
    volumes = np.asarray(VolumePreprocessor(size=8, cache_dir=cache).fit_transform(X))
    assert len(n4_calls) == 2 and len(list((cache / "n4").rglob("*.npy"))) == 2
    np.testing.assert_array_equal(volumes, uncached)  # identical through the cache
    VolumePreprocessor(size=10, margin_mm=4.0, normalize="tumor", cache_dir=cache).fit_transform(X)
    RadiomicsExtractor(cache_dir=cache).fit_transform(X)
    assert len(n4_calls) == 2  # other grids and the radiomics reuse the corrected images
    native_cached, _ = VolumePreprocessor(cache_dir=cache).fit(X).load_native(X.iloc[0])
    native_fresh, _ = VolumePreprocessor(cache=False).fit(X).load_native(X.iloc[0])
    for channel in ("t1", "t2"):
        np.testing.assert_array_equal(sitk.GetArrayFromImage(native_cached[channel]),
                                      sitk.GetArrayFromImage(native_fresh[channel]))


def test_n4_cache_can_be_turned_off_and_follows_the_n4_settings(tmp_path, n4_calls):
    X = _patient(tmp_path)
    cache = tmp_path / "cache"
    VolumePreprocessor(size=8, cache_n4=False, cache_dir=cache).fit_transform(X)
    VolumePreprocessor(size=8, n4=False, cache_dir=cache).fit_transform(X)
    assert not (cache / "n4").exists()
    VolumePreprocessor(size=9, cache_dir=cache).fit_transform(X)  # size 8 is in the volume cache
    VolumePreprocessor(size=9, n4_shrink=2, cache_dir=cache).fit_transform(X)
    assert len(n4_calls) == 3 and len(list((cache / "n4").rglob("*.npy"))) == 2


@pytest.mark.parametrize("damage", ["npy_truncated", "npy_values", "json_grid", "npy_shape", "json_list"])
def test_bad_n4_entry_is_logged_and_recomputed(tmp_path, n4_calls, caplog, damage):
    X = _patient(tmp_path)
    cache = tmp_path / "cache"
    first = np.asarray(VolumePreprocessor(size=8, cache_dir=cache).fit_transform(X))
    (npy,) = (cache / "n4").rglob("*.npy")
    if damage == "npy_truncated":
        npy.write_bytes(npy.read_bytes()[:100])
    elif damage == "npy_values":
        np.save(npy, np.zeros(SHAPE, np.float32))
    elif damage == "json_grid":
        record = json.loads(npy.with_suffix(".json").read_text())
        record["record"]["grid"]["spacing"] = [2.0, 2.0, 2.0]
        body = json.dumps(record["record"], sort_keys=True)
        record["checksum"] = hashlib.sha256(body.encode()).hexdigest()
        npy.with_suffix(".json").write_text(json.dumps(record))
    elif damage == "json_list":  # a record with a valid checksum that is not a mapping
        from sarcoma_survival.utils import write_record

        write_record(npy.with_suffix(".json"), ["grid", "checksum"])
    else:  # a well-formed entry of another shape, checksum rewritten to match
        from sarcoma_survival.utils import write_record, write_verified

        record = json.loads(npy.with_suffix(".json").read_text())["record"]
        record["checksum"] = write_verified(npy, lambda tmp: np.save(tmp, np.zeros((2, 2, 2), np.float32)))
        write_record(npy.with_suffix(".json"), record)
    n4_calls.clear()
    with caplog.at_level(logging.WARNING, logger="sarcoma_survival"):
        again = np.asarray(VolumePreprocessor(size=10, cache_dir=cache).fit_transform(X))
    assert len(n4_calls) == 1 and str(npy) in caplog.text
    fresh = np.asarray(VolumePreprocessor(size=10, cache=False).fit_transform(X))
    np.testing.assert_array_equal(again, fresh)
    assert first.shape == (1, 1, 8, 8, 8)
