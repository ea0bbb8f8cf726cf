"""Benchmark VolumePreprocessor on the real TCIA STS T1 volumes.

Prints seconds per patient for N4 alone and for the whole transform at 64^3 and 128^3,
cold (empty cache) vs cached, n_jobs 1 vs 2, and peak memory. Other processes may share
the CPU: compare ratios measured within one run.

Usage: python benchmarks/bench_preprocessing.py [--n-patients 10] [--validation PATH]
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from sarcoma_survival.preprocessing import VolumePreprocessor, read_image
from sarcoma_survival.preprocessing._intensity import foreground_mask, n4_correct


def frame(validation, n):
    root = Path(validation) / "sts_tcia" / "nifti"
    patients = sorted(p.name for p in root.iterdir() if p.is_dir())[:n]
    return pd.DataFrame({"t1": [str(root / p / "MR_T1_image.nii.gz") for p in patients],
                         "mask": [str(root / p / "MR_T1_mask.nii.gz") for p in patients]}, index=patients)


def timed(function):
    start = time.perf_counter()
    tracemalloc.start()
    result = function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, time.perf_counter() - start, peak / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=10)
    parser.add_argument("--validation", default=str(Path(__file__).resolve().parents[2] / "shared" / "validation"))
    args = parser.parse_args()
    X = frame(args.validation, args.n_patients)
    n = len(X)
    print(f"{n} TCIA STS T1 patients; median size "
          f"{np.median([read_image(p).GetNumberOfPixels() for p in X['t1']]) / 1e6:.2f} M voxels")

    def n4_all():
        for path in X["t1"]:
            image = read_image(path)
            n4_correct(image, mask=foreground_mask(image))

    _, seconds, peak = timed(n4_all)
    print(f"N4 alone (shrink 4, 3 x 50 it.), read included: {seconds / n:.2f} s/patient, "
          f"python peak {peak:.0f} MiB")
    for size in (64, 128):
        for n_jobs in (1, 2):
            with tempfile.TemporaryDirectory() as cache:
                pre = VolumePreprocessor(size=size, cache_dir=cache, n_jobs=n_jobs)
                vol, cold, peak = timed(lambda pre=pre: pre.fit(X).transform(X))
                _, warm, _ = timed(lambda pre=pre: pre.transform(X))
                _, load, _ = timed(lambda vol=vol: np.asarray(vol))
                print(f"size {size}^3 n_jobs={n_jobs}: cold {cold / n:.2f} s/patient, cached transform "
                      f"{warm / n * 1000:.1f} ms/patient, np.asarray of cached {load / n * 1000:.1f} ms/patient, "
                      f"python peak (main process) {peak:.0f} MiB")
    print(f"max RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
          f"of finished workers: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
