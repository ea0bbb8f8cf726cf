"""n_jobs=2 vs n_jobs=1: cold radiomics extraction and preprocessing (N4), ratios in one run.

Runs are interleaved (n_jobs=1, n_jobs=2, n_jobs=1, ...) with a fresh cache each time and a
fresh loky pool for every n_jobs=2 run (worker start-up included, as a user sees it). Next
to the wall-clock ratio it prints the CPU seconds of this process and its workers and the
load average: on a machine shared with other sessions the kernel's autogroup scheduler gives
each session (not each process) a fair share of the cores, so two processes of one session
get no more CPU than one while the load is high, and the wall ratio then says nothing about
the code. Run it again when the load is low. The "idle-machine estimate" is CPU seconds of
n_jobs=1 over half the CPU seconds of n_jobs=2 (start-up included): the wall ratio of
CPU-bound work on two idle cores, an estimate, not a measurement.

Usage::

    PYTHONPATH=. python benchmarks/bench_parallel.py [--patients 16] [--repeats 2]
        [--what startup,radiomics,preprocessing]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_radiomics import ROOT, sts_table  # noqa: E402

from sarcoma_survival.preprocessing import VolumePreprocessor  # noqa: E402
from sarcoma_survival.radiomics import RadiomicsExtractor  # noqa: E402


def _cpu():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _import(names):
    import importlib

    for name in names:
        importlib.import_module(name)


def startup():
    """CPU seconds of starting 2 loky workers that import what a task needs (``--what startup``)."""
    radiomics = ["sarcoma_survival._radiomics._patient", "radiomics.featureextractor"]
    for label, names in [("bare joblib worker", []),
                         ("radiomics worker", radiomics),
                         ("radiomics worker + sklearn, pandas (before)", [*radiomics, "sklearn.base", "pandas"]),
                         ("preprocessing worker", ["sarcoma_survival.preprocessing._volume_patient"])]:
        get_reusable_executor().shutdown(wait=True)
        cpu = _cpu()
        Parallel(n_jobs=2)(delayed(_import)(names) for _ in range(2))
        get_reusable_executor().shutdown(wait=True)
        print(f"start-up of 2 workers, {label:45s}: CPU {_cpu() - cpu:4.1f} s", flush=True)


def run(what, X, n_jobs):
    get_reusable_executor().shutdown(wait=True)  # workers' CPU is counted once they are reaped
    with tempfile.TemporaryDirectory() as cache:
        make = {"radiomics": lambda: RadiomicsExtractor(preprocessor=None, cache_dir=cache, n_jobs=n_jobs),
                "preprocessing": lambda: VolumePreprocessor(size=48, cache_dir=cache, n_jobs=n_jobs)}[what]
        cpu, start = _cpu(), time.perf_counter()
        make().fit_transform(X)
        wall = time.perf_counter() - start
        get_reusable_executor().shutdown(wait=True)
        return wall, _cpu() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--what", default="radiomics,preprocessing")
    parser.add_argument("--validation", default=os.environ.get("SARCOMA_SURVIVAL_VALIDATION",
                                                               ROOT.parent / "shared" / "validation"))
    args = parser.parse_args(argv)
    X = sts_table(args.validation, args.patients)
    print(f"{len(X)} STS patients (T1), cpu_count={os.cpu_count()}")
    for what in args.what.split(","):
        if what == "startup":
            startup()
            continue
        for repeat in range(args.repeats):
            load = os.getloadavg()[0]
            w1, c1 = run(what, X, 1)
            w2, c2 = run(what, X, 2)
            # CPU-bound work split evenly over 2 otherwise idle cores takes CPU/2 of wall time
            print(f"{what:13s} repeat {repeat}: n_jobs=1 {w1:6.1f} s (CPU {c1:5.1f} s), "
                  f"n_jobs=2 {w2:6.1f} s (CPU {c2:5.1f} s), wall speed-up {w1 / w2:4.2f}x, "
                  f"idle-machine estimate {c1 / (c2 / 2):4.2f}x, "
                  f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
