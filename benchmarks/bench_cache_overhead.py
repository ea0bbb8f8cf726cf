"""Overhead of the cache checksums on a training loop.

A cohort of synthetic patients is preprocessed once (filling the cache). Then, as a new
process would, the cached volumes are read for ``--epochs`` epochs in two ways, alternated
``--repeats`` times within one run:

* plain: ``transform`` with checksum verification switched off, then ``VolumeArray`` item
  access with the loader of the code before checksums (a bare ``np.load``);
* checked: ``transform`` verifying every entry's checksum (once per entry per process),
  then ``VolumeArray`` item access with its shape and dtype check.

Each is timed for the data reading alone (the strictest comparison) and with a training
step of a small 3D CNN per batch of 8 (``--no-net`` skips it). Prints the medians and the
ratios checked / plain. Other processes may share the CPU: only ratios measured within one
run mean something.

Usage: python benchmarks/bench_cache_overhead.py [--n-patients 40] [--size 48] [--epochs 10]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from sarcoma_survival.preprocessing import VolumeArray, VolumePreprocessor, _volume
from sarcoma_survival.utils import _files


def make_cohort(folder, n_patients, seed=0):
    rng = np.random.default_rng(seed)
    shape = (40, 64, 64)
    zz, yy, xx = np.indices(shape)
    rows = {}
    for i in range(n_patients):
        t1 = rng.uniform(50, 150, shape).astype(np.float32)
        t2 = rng.uniform(80, 200, shape).astype(np.float32)
        centre = np.array(shape) / 2 + rng.uniform(-4, 4, 3)
        mask = ((((zz - centre[0]) / 8) ** 2 + ((yy - centre[1]) / 12) ** 2 + ((xx - centre[2]) / 10) ** 2) <= 1)
        paths = {}
        for name, array in [("t1", t1), ("t2", t2), ("mask", mask.astype(np.uint8))]:
            paths[name] = str(folder / f"P{i:03d}_{name}.nii.gz")
            sitk.WriteImage(sitk.GetImageFromArray(array), paths[name])
        rows[f"P{i:03d}"] = paths
    return pd.DataFrame.from_dict(rows, orient="index")


def _old_load(self, i):
    item = self._items[i]
    return np.array(item, dtype=np.float32) if isinstance(item, np.ndarray) else np.load(item)


def plain_loop(pre, X, epochs, step):
    original_verify, original_load = _volume.verify_file, VolumeArray._load
    _volume.verify_file = lambda path, checksum: Path(path).exists()
    VolumeArray._load = _old_load
    try:
        return _epochs(pre.transform(X), epochs, step)
    finally:
        _volume.verify_file, VolumeArray._load = original_verify, original_load


def checked_loop(pre, X, epochs, step):
    _files._VERIFIED.clear()  # a new process: every entry is verified once
    return _epochs(pre.transform(X), epochs, step)


def _epochs(volumes, epochs, step, batch_size=8):
    total = 0.0
    for _ in range(epochs):
        for start in range(0, len(volumes), batch_size):
            batch = np.stack([volumes[i] for i in range(start, min(start + batch_size, len(volumes)))])
            total += step(batch)
    return total


def make_step(use_net, seed=0):
    if not use_net:
        return lambda batch: float(batch[:, 0, 0, 0, 0].sum())
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv3d(2, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv3d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(), torch.nn.Linear(16, 1),
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-3)

    def step(batch):
        optimizer.zero_grad()
        loss = net(torch.from_numpy(batch)).square().mean()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-patients", type=int, default=40)
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-net", action="store_true", help="time the data reading only")
    args = parser.parse_args()
    modes = [("reading only", False)] + ([] if args.no_net else [("with a 3D CNN step", True)])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        X = make_cohort(folder, args.n_patients)
        pre = VolumePreprocessor(size=args.size, n4=False, cache_dir=folder / "cache").fit(X)
        pre.transform(X)  # fill the cache (and memoise the input digests, as both loops would)
        for _mode, use_net in modes:  # warm-up (page cache, torch kernels), not timed
            plain_loop(pre, X, 1, make_step(use_net))
        timings = {(mode, name): [] for mode, _ in modes for name in ("plain", "checked")}
        for _ in range(args.repeats):
            for mode, use_net in modes:
                for name, loop in [("plain", plain_loop), ("checked", checked_loop)]:
                    step = make_step(use_net)
                    start = time.perf_counter()
                    loop(pre, X, args.epochs, step)
                    timings[mode, name].append(time.perf_counter() - start)
    entry_mb = 2 * args.size ** 3 * 4 / 2**20
    print(f"{args.n_patients} patients, 2 x {args.size}^3 float32 ({entry_mb:.1f} MiB per entry), "
          f"{args.epochs} epochs, median of {args.repeats} alternated runs")
    for mode, _ in modes:
        plain, checked = statistics.median(timings[mode, "plain"]), statistics.median(timings[mode, "checked"])
        print(f"{mode:20s}: plain {plain:.3f} s, checked {checked:.3f} s, ratio {checked / plain:.3f}")


if __name__ == "__main__":
    main()
