"""Radiomics extraction time per patient on real STS MRI volumes: cold vs cached, n_jobs 1 vs 2.

Reads ``../shared/validation/sts_tcia/nifti/STS_xxx/MR_T1_image.nii.gz`` and
``MR_T1_mask.nii.gz`` (T1 only) and runs :class:`~sarcoma_survival.radiomics.RadiomicsExtractor`
with its default 100 features. These volumes were N4-corrected and fat-normalized by the IBSI
team already, so the default mode here is ``preprocessor=None`` (raw files, PyRadiomics'
default bin width 25); ``--preprocessed`` adds this toolkit's N4 + z-score
(``VolumePreprocessor.load_native``) to the timing.

Usage::

    python benchmarks/bench_radiomics.py [--patients 10] [--preprocessed] [--validation DIR]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from sarcoma_survival.radiomics import RadiomicsExtractor

ROOT = Path(__file__).resolve().parent.parent


def sts_table(validation, n_patients):
    folder = Path(validation) / "sts_tcia" / "nifti"
    patients = sorted(p.name for p in folder.iterdir() if p.is_dir())[:n_patients]
    return pd.DataFrame(
        {
            "t1": [str(folder / p / "MR_T1_image.nii.gz") for p in patients],
            "mask": [str(folder / p / "MR_T1_mask.nii.gz") for p in patients],
        },
        index=pd.Index(patients, name="patient_id"),
    )


def timed(extractor, X):
    """Wall seconds, CPU seconds of this process (workers excluded) and the features."""
    start, cpu = time.perf_counter(), time.process_time()
    features = extractor.fit_transform(X)
    return time.perf_counter() - start, time.process_time() - cpu, features


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--preprocessed", action="store_true", help="N4 + z-score with VolumePreprocessor")
    parser.add_argument(
        "--validation",
        default=os.environ.get("SARCOMA_SURVIVAL_VALIDATION", ROOT.parent / "shared" / "validation"),
    )
    args = parser.parse_args(argv)
    X = sts_table(args.validation, args.patients)
    preprocessor = "default" if args.preprocessed else None
    n = len(X)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{n} STS patients, T1 only, preprocessor={preprocessor!r}, cpu_count={os.cpu_count()}, "
          f"load average {load:.1f} (timings on a shared machine are inflated by its load)")
    with tempfile.TemporaryDirectory() as cache_1, tempfile.TemporaryDirectory() as cache_2:
        cold_1, cpu_1, features = timed(RadiomicsExtractor(preprocessor=preprocessor, cache_dir=cache_1), X)
        cached, cpu_c, again = timed(RadiomicsExtractor(preprocessor=preprocessor, cache_dir=cache_1), X)
        cold_2, _, parallel = timed(RadiomicsExtractor(preprocessor=preprocessor, cache_dir=cache_2, n_jobs=2), X)
    assert features.equals(again) and features.equals(parallel)
    print(f"features: {features.shape[1]} per patient, all finite: {bool(features.notna().all().all())}")
    print(f"cold,   n_jobs=1: {cold_1:8.2f} s total, {cold_1 / n:7.3f} s/patient (CPU {cpu_1 / n:.3f} s/patient)")
    print(f"cached, n_jobs=1: {cached:8.2f} s total, {cached / n:7.3f} s/patient (CPU {cpu_c / n:.3f} s/patient)")
    print(f"cold,   n_jobs=2: {cold_2:8.2f} s total, {cold_2 / n:7.3f} s/patient (includes worker start-up)")


if __name__ == "__main__":
    main()
