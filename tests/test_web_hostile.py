"""Hostile uploads to the web service (issue #23): each is answered 4xx within 2 s, before the
request waits for the models, without opening what a header points at, with bounded memory."""
# ruff: noqa: F811 - the fixtures imported from test_web are arguments of the tests
from __future__ import annotations

import gzip
import io
import os
import resource
import struct
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
import SimpleITK as sitk

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from test_reader_policy import _series
from test_web import cells, cohort, form, models, post, temp_root  # noqa: F401 - fixtures and helpers

from sarcoma_survival.web import create_app


def _mha(data_file):
    return ("ObjectType = Image\nNDims = 3\nDimSize = 16 16 16\nElementType = MET_FLOAT\n"
            f"ElementSpacing = 1 1 1\nElementByteOrderMSB = False\nElementDataFile = {data_file}\n").encode()


def _nrrd(extra, sizes="16 16 16", body=b""):
    return (f"NRRD0004\ntype: float\ndimension: 3\nsizes: {sizes}\nendian: little\n{extra}\n\n").encode() + body


def _nifti_declaring(size):
    """A gzip NIfTI whose header declares ``size`` uint8 voxels, all present (zeros compress 1000:1)."""
    image = sitk.Image(4, 4, 4, sitk.sitkUInt8)
    buffer = io.BytesIO()
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"hostile-{os.getpid()}.nii")
    sitk.WriteImage(image, path)
    with open(path, "rb") as handle:
        header = bytearray(handle.read(352))
    os.unlink(path)
    struct.pack_into("<4h", header, 40, 3, *size)
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as out:
        out.write(bytes(header))
        zeros = bytes(1 << 22)
        total = int(np.prod(size))
        for _ in range(total // len(zeros)):
            out.write(zeros)
        out.write(bytes(total % len(zeros)))
    return buffer.getvalue()


def _cut_nifti():
    noise = np.random.default_rng(0).normal(size=(32, 32, 32)).astype(np.float32)
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"cut-{os.getpid()}.nii.gz")
    sitk.WriteImage(sitk.GetImageFromArray(noise), path)
    with open(path, "rb") as handle:
        data = handle.read(1500)
    os.unlink(path)
    return data


def _zip(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_bomb():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("IM0001", "w") as member:
            zeros = bytes(1 << 20)
            for _ in range(64):
                member.write(zeros)
    return buffer.getvalue()


def _series_with_a_gap(tmp_path):
    folder = _series(tmp_path / "gap", [0, 2, 4, 8, 10, 12])
    return _zip([(p.name, p.read_bytes()) for p in sorted(folder.iterdir())])


HOSTILE = {
    # name: (field, function of a tmp folder giving (file name, bytes), status, words in the answer)
    "server file": ("t1", lambda _: ("t1.mha", _mha("/etc/hostname")), 422, "is not a file next to the header"),
    "device": ("t1", lambda _: ("t1.mha", _mha("/dev/zero")), 422, "is not a file next to the header"),
    "stdin": ("t2", lambda _: ("t2.nrrd", _nrrd("encoding: raw\ndata file: /dev/stdin")), 422,
              "not a file next to"),
    "parent folder": ("t2", lambda _: ("t2.nrrd", _nrrd("encoding: raw\ndata file: ../../x.raw")), 422,
                      "not a file next"),
    "file list": ("t1", lambda _: ("t1.mha", _mha("LIST")), 422, "names several data files"),
    "ascii nrrd": ("t1", lambda _: ("t1.nrrd", _nrrd("encoding: ascii", "400 400 400", b"0 0\n")), 422,
                   "impossible in a file of"),
    "voxel bomb": ("t1", lambda _: ("t1.nii.gz", _nifti_declaring((512, 512, 300))), 422,
                   "more than the limit of"),
    "cut header": ("t1", lambda _: ("t1.nii.gz", _cut_nifti()), 422, "truncated"),
    "50000 members": ("t1", lambda _: ("t1.zip", _zip([(f"{i:05d}", b"") for i in range(50_000)])), 413,
                      "holds 50000 members"),
    "zip bomb": ("t1", lambda _: ("t1.zip", _zip_bomb()), 413, "bytes once uncompressed"),
    "missing slice": ("t1", lambda folder: ("t1.zip", _series_with_a_gap(folder)), 422,
                      "slice(s) missing at 6.000 mm"),
}


@pytest.fixture()
def service_app(models, temp_root):
    return create_app(models["os"], dm_model=models["dm"], max_upload_mb=20, temp_dir=temp_root)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_upload_is_answered_4xx_fast_without_waiting_for_the_models(
        name, service_app, temp_root, cohort, cells, tmp_path):
    field, make, status, words = HOSTILE[name]
    upload = make(tmp_path)
    client = TestClient(service_app)
    parts = form(cells, cohort.X.index[0], **{field: upload})
    lock = service_app.state.service.lock
    lock.acquire()  # the models are busy for 3 s: a refusal must not wait for them
    timer = threading.Timer(3.0, lock.release)
    timer.start()
    try:
        start = time.perf_counter()
        response = post(client, temp_root, parts)
        elapsed = time.perf_counter() - start
    finally:
        timer.join()
    assert response.status_code == status, response.json()
    assert response.json()["field"] == field
    assert words in response.json()["detail"]
    assert str(temp_root) not in response.json()["detail"]
    assert elapsed < 2.0, f"{name}: answered in {elapsed:.1f} s"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_by_an_upload_is_refused_without_opening_it(service_app, temp_root, cohort, cells,
                                                                 tmp_path):
    fifo = tmp_path / "pipe.raw"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes: none will
    client = TestClient(service_app)
    start = time.perf_counter()
    response = post(client, temp_root, form(cells, cohort.X.index[0], t1=("t1.mha", _mha(str(fifo)))))
    assert response.status_code == 422 and time.perf_counter() - start < 2.0


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kB is Linux's unit")
def test_hostile_uploads_leave_peak_memory_bounded(service_app, temp_root, cohort, cells, tmp_path):
    client = TestClient(service_app)
    assert post(client, temp_root, form(cells, cohort.X.index[0])).status_code == 200  # warm: imports done
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    uploads = {name: (field, make(tmp_path / name.replace(" ", "_")))
               for name, (field, make, _, _) in HOSTILE.items()}
    for field, upload in uploads.values():
        assert post(client, temp_root, form(cells, cohort.X.index[0], **{field: upload})).status_code in (413, 422)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 150, f"peak memory grew by {grown_mb:.0f} MB"
    assert post(client, temp_root, form(cells, cohort.X.index[0])).status_code == 200


def test_serve_takes_max_voxels(models, tmp_path, monkeypatch):
    import uvicorn

    from sarcoma_survival import save_model
    from sarcoma_survival.cli import main

    path = save_model(models["clinical_only"], tmp_path / "model.ssm")
    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append(app))
    assert main(["serve", "--model-file", str(path)]) == 0
    assert apps[-1].state.service.max_voxels == 1 << 26
    assert main(["serve", "--model-file", str(path), "--max-voxels", "1000"]) == 0
    assert apps[-1].state.service.max_voxels == 1000
