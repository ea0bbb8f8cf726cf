"""Benchmark of the paper's clinical and radiomics models (Table 3, rows 1-6).

Two parts (``--part fit``, ``--part real`` or ``--part all``, the default):

* ``fit``: seconds to fit each estimator on a synthetic cohort of 287 patients
  (:func:`~sarcoma_survival.datasets.make_synthetic_cohort`, the paper's size), twice: for
  the first radiomics model the first fit extracts the features (default
  :class:`~sarcoma_survival.radiomics.RadiomicsExtractor`, cold cache); every other fit
  reads them from the cache.
* ``real``: repeated stratified 5-fold cross-validation (stratified on the event) of every
  model on the 51 real TCIA STS patients (:func:`~sarcoma_survival.datasets.load_tcia_sts`,
  T1 only) for OS and DM: mean and SD of the per-fold Harrell C. The extractor uses the
  default PyRadiomics settings with ``VolumePreprocessor(n4=False)``: these images are
  already N4-corrected by the IBSI team. A last row shows what the "any chemotherapy"
  column of the sheet would do if it were (wrongly) used as ``neoadjuvant_chemo``.

Run: ``python benchmarks/bench_models.py [--part fit|real|all] [--repeats 5] [--n-jobs 2]``.
Every figure it prints is measured when it runs; nothing is stored.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate

from sarcoma_survival.datasets import load_tcia_sts, make_synthetic_cohort
from sarcoma_survival.metrics import concordance_scorer
from sarcoma_survival.models import (
    ClinicalRSF,
    RadiomicsCoxNet,
    RadiomicsRSF,
    SarculatorCoxPH,
    SarculatorRSF,
)
from sarcoma_survival.preprocessing import VolumePreprocessor
from sarcoma_survival.radiomics import RadiomicsExtractor

#: The paper's hold-out C-indices (Table 3), OS / DM.
PAPER = {
    "Sarculator RSF": (0.654, 0.618),
    "Sarculator CoxPH": (0.614, 0.631),
    "Clinical (11) RSF": (0.655, 0.639),
    "Radiomics RSF": (0.532, 0.541),
    "Radiomics + clinical RSF": (0.582, 0.558),
    "Radiomics + clinical ElasticNet Cox": (0.707, 0.658),
}


def models(extractor, n_jobs, random_state=0):
    """The six baselines of Table 3, by row name."""
    return {
        "Sarculator RSF": SarculatorRSF(n_jobs=n_jobs, random_state=random_state),
        "Sarculator CoxPH": SarculatorCoxPH(),
        "Clinical (11) RSF": ClinicalRSF(n_jobs=n_jobs, random_state=random_state),
        "Radiomics RSF": RadiomicsRSF(extractor, n_jobs=n_jobs, random_state=random_state),
        "Radiomics + clinical RSF": RadiomicsRSF(
            extractor, include_clinical=True, n_jobs=n_jobs, random_state=random_state),
        "Radiomics + clinical ElasticNet Cox": RadiomicsCoxNet(
            extractor, n_jobs=n_jobs, random_state=random_state),
    }


def bench_fit(args):
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        train = make_synthetic_cohort(287, image_size=args.image_size, random_state=0,
                                      data_dir=folder, n_jobs=args.n_jobs)
        print(f"synthetic cohort (287 patients, image_size={args.image_size}) generated in "
              f"{time.perf_counter() - t:.1f} s")
        extractor = RadiomicsExtractor(cache_dir=folder, n_jobs=args.n_jobs)
        print(f"\nfit seconds on 287 synthetic patients, OS (n_jobs={args.n_jobs}); the first "
              "radiomics fit extracts the features (cold cache), later fits read the cache")
        print(f"{'model':38s} {'first fit':>10s} {'second fit':>11s}")
        for name, model in models(extractor, args.n_jobs).items():
            seconds = []
            for _ in range(2):
                t = time.perf_counter()
                model.fit(train.X, train.y_os)
                seconds.append(time.perf_counter() - t)
            print(f"{name:38s} {seconds[0]:10.2f} {seconds[1]:11.2f}")


def bench_real(args):
    sts = load_tcia_sts()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.cache_dir or temporary
        extractor = RadiomicsExtractor(preprocessor=VolumePreprocessor(n4=False),
                                       cache_dir=folder, n_jobs=args.n_jobs)
        t = time.perf_counter()
        features = extractor.fit_transform(sts.X)
        print(f"radiomics of 51 TCIA patients: {features.shape[1]} features, "
              f"{time.perf_counter() - t:.1f} s (n_jobs={args.n_jobs}, cache: {folder})")
        rows = models(extractor, args.n_jobs)
        print(f"\nrepeated stratified 5-fold CV x {args.repeats} on 51 TCIA STS patients "
              "(per-fold Harrell C, mean +- SD)")
        print(f"{'model':38s} {'OS':>15s} {'DM':>15s} {'paper OS/DM':>12s} {'seconds':>8s}")
        results = {}
        for name, model in rows.items():
            t = time.perf_counter()
            cells = [_cv(model, sts.X, sts[f"y_{outcome}"], args.repeats)
                     for outcome in ("os", "dm")]
            results[name] = cells
            paper = "{:.3f}/{:.3f}".format(*PAPER[name])
            print(f"{name:38s} {_fmt(cells[0]):>15s} {_fmt(cells[1]):>15s} {paper:>12s} "
                  f"{time.perf_counter() - t:8.1f}")
        leaky = sts.X.assign(neoadjuvant_chemo=sts.clinical["treat_chemotherapy"].astype(float))
        cells = [_cv(ClinicalRSF(n_jobs=args.n_jobs, random_state=0), leaky,
                     sts[f"y_{outcome}"], args.repeats) for outcome in ("os", "dm")]
        print(f"{'Clinical RSF + any-chemo (leaks DM)':38s} {_fmt(cells[0]):>15s} "
              f"{_fmt(cells[1]):>15s}")
    return results


def _cv(model, X, y, repeats):
    splitter = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=0)
    folds = list(splitter.split(X, y["event"]))
    scores = cross_validate(model, X, y, cv=folds, scoring=concordance_scorer)["test_score"]
    return scores


def _fmt(scores):
    return f"{np.mean(scores):.3f} +- {np.std(scores):.3f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["fit", "real", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=5, help="CV repeats (real data)")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=32, help="synthetic in-plane size")
    parser.add_argument("--cache-dir", default=None,
                        help="radiomics cache for the real data (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.part in ("fit", "all"):
        bench_fit(args)
    if args.part in ("real", "all"):
        bench_real(args)


if __name__ == "__main__":
    main()
