"""Every zip the package opens is bounded from its central directory before a member is read
(issue #23): model files, the skops part inside them, zipped uploads."""
from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
import skops.io as sio

from sarcoma_survival import SarculatorCoxPH, _model_io, load_model, save_model
from sarcoma_survival._model_io import FORMAT, FORMAT_VERSION, ModelFileError
from sarcoma_survival.utils import ArchiveError, open_bounded_zip


def _many_members(path, count):
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(count):
            archive.writestr(f"{i:05d}", b"")
    return path


def _deflated(name, size):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(name, "w") as member:
            zeros = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(zeros)
    return buffer.getvalue()


def test_member_count_is_refused_before_zipfile_parses_the_directory(tmp_path, monkeypatch):
    path = _many_members(tmp_path / "many.zip", 50_000)
    monkeypatch.setattr(zipfile.ZipFile, "__init__", lambda *a, **k: pytest.fail("directory parsed"))
    start = time.perf_counter()
    with pytest.raises(ArchiveError, match="the archive holds 50000 members, more than the limit of 10000"):
        open_bounded_zip(path, max_members=10_000, max_member_bytes=1 << 20, max_total_bytes=1 << 20)
    assert time.perf_counter() - start < 2.0


def test_a_directory_larger_than_its_count_says_is_refused(tmp_path):
    data = bytearray(_many_members(tmp_path / "many.zip", 3000).read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = (10).to_bytes(2, "little") * 2  # claim 10 members
    with pytest.raises(ArchiveError, match="central directory takes .* more than 10 members need"):
        open_bounded_zip(bytes(data), max_members=10, max_member_bytes=1 << 20, max_total_bytes=1 << 20)


def test_sizes_are_bounded_per_member_and_in_total():
    bomb = _deflated("zeros", 64 << 20)
    assert len(bomb) < 100_000
    with pytest.raises(ArchiveError, match=r"member 'zeros' is 67108864 bytes once uncompressed, more than"):
        open_bounded_zip(bomb, max_members=10, max_member_bytes=1 << 20, max_total_bytes=1 << 30)
    with pytest.raises(ArchiveError, match=r"the members are 67108864 bytes once uncompressed"):
        open_bounded_zip(bomb, max_members=10, max_member_bytes=1 << 30, max_total_bytes=1 << 20)
    with open_bounded_zip(bomb, max_members=10, max_member_bytes=1 << 30, max_total_bytes=1 << 30) as archive:
        assert archive.namelist() == ["zeros"]


def test_a_member_declaring_more_than_deflate_can_produce_is_refused():
    data = bytearray(_deflated("small", 1 << 20))
    directory = data.rfind(b"PK\x01\x02")
    data[directory + 24:directory + 28] = (1 << 31).to_bytes(4, "little")  # declared uncompressed size
    with pytest.raises(ArchiveError, match=r"member 'small' declares 2147483648 bytes from \d+ compressed bytes"):
        open_bounded_zip(bytes(data), max_members=10, max_member_bytes=1 << 32, max_total_bytes=1 << 32)


# ---------------------------------------------------------------------------- model files
@pytest.fixture(scope="module")
def coxph(tiny_cohort):
    return SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_os)


def _model_file(path, estimator_part):
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "class": "SarculatorCoxPH",
                "package_version": "0", "params": {}, "torch_modules": []}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("estimator.skops", estimator_part)
    return path


def test_a_model_file_whose_skops_part_inflates_far_beyond_the_file_is_refused(tmp_path, monkeypatch):
    # the inner zip holds 256 MB of zeros; deflated twice, the model file is a few kB
    path = _model_file(tmp_path / "bomb.ssm", _deflated("schema.json", 256 << 20))
    assert path.stat().st_size < 10_000
    monkeypatch.setattr(sio, "loads", lambda *a, **k: pytest.fail("skops opened the part"))
    monkeypatch.setattr(sio, "get_untrusted_types", lambda *a, **k: pytest.fail("skops opened the part"))
    with pytest.raises(ModelFileError, match=r"bomb\.ssm' \(its estimator\.skops part\) is refused: the "
                                             r"members are 268435456 bytes once uncompressed"):
        load_model(path)


def test_the_member_bound_of_model_files_applies_before_reading(tmp_path, monkeypatch):
    path = _many_members(tmp_path / "many.ssm", 5000)
    monkeypatch.setattr(_model_io, "MODEL_MAX_MEMBERS", 1000)
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a, **k: pytest.fail("a member was read"))
    with pytest.raises(ModelFileError, match=r"many\.ssm' is refused: the archive holds 5000 members, more than "
                                             r"the limit of 1000"):
        load_model(path)


def test_real_model_files_are_within_the_bounds(coxph, tiny_cohort, tmp_path):
    path = save_model(coxph, tmp_path / "coxph.ssm")
    assert (load_model(path).predict(tiny_cohort.X) == coxph.predict(tiny_cohort.X)).all()
