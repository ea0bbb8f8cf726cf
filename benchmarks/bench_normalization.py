"""Which z-score region should be the default: the patient's foreground or the tumour?

``VolumePreprocessor(normalize=...)`` sets the region of the per-channel z-score statistics
used by the image networks and, through ``load_native``, by the radiomics. A tumour z-score
helped a small image network on synthetic data (docs/user_guide/mmnn.rst). This script
measures what it does to the radiomics baselines, the other users of the same images:

* ``synthetic``: the demo's cohorts (287 training patients, ``random_state=0``; 200 test
  patients, ``random_state=1``; N4 on, the demo's default preprocessing), Radiomics RSF,
  Radiomics + clinical RSF and Radiomics + clinical ElasticNet Cox, OS and DM, fitted with
  each region: Harrell's C on the test cohort, the paired bootstrap SD of the C difference
  (same resampled patients for both regions) and the Spearman correlation of the predicted
  with the true risk. All SIMULATED.
* ``real``: the 51 TCIA STS patients (T1 only, already N4-corrected by the IBSI team, so
  ``n4=False``), the same three models under repeated stratified 5-fold cross-validation:
  mean +- SD of the per-fold C.

Run: ``python benchmarks/bench_normalization.py [--part synthetic|real|all] [--n-jobs 2]
[--csv benchmarks/measured/normalization.csv]``. Every figure is measured when it runs.
"""
from __future__ import annotations

import argparse
import csv
import platform
import time

import numpy as np
from _machine import machine_line
from scipy.stats import spearmanr
from sksurv.metrics import concordance_index_censored

from sarcoma_survival.datasets import load_tcia_sts, make_synthetic_cohort
from sarcoma_survival.models import RadiomicsCoxNet, RadiomicsRSF
from sarcoma_survival.preprocessing import VolumePreprocessor
from sarcoma_survival.radiomics import RadiomicsExtractor

REGIONS = ("foreground", "tumor")


def _models(extractor, n_jobs):
    return {
        "Radiomics RSF": RadiomicsRSF(extractor, n_jobs=n_jobs, random_state=0),
        "Radiomics + clinical RSF": RadiomicsRSF(extractor, include_clinical=True, n_jobs=n_jobs,
                                                 random_state=0),
        "Radiomics + clinical ElasticNet Cox": RadiomicsCoxNet(extractor, n_jobs=n_jobs, random_state=0),
    }


def _c_index(y, risk):
    event, time_ = y[y.dtype.names[0]], y[y.dtype.names[1]]
    return concordance_index_censored(event, time_, risk)[0]


def _paired_sd(y, risk_a, risk_b, n_bootstraps=500, seed=0):
    """Bootstrap SD of C(risk_b) - C(risk_a) on the same resampled test patients."""
    rng = np.random.default_rng(seed)
    event = y[y.dtype.names[0]]
    diffs = []
    while len(diffs) < n_bootstraps:
        index = rng.integers(0, len(y), len(y))
        if event[index].sum() < 2:
            continue
        diffs.append(_c_index(y[index], risk_b[index]) - _c_index(y[index], risk_a[index]))
    return float(np.std(diffs))


def bench_synthetic(args, rows):
    t = time.perf_counter()
    train = make_synthetic_cohort(287, random_state=0, image_size=32, n_jobs=args.n_jobs)
    test = make_synthetic_cohort(200, random_state=1, image_size=32, n_jobs=args.n_jobs)
    print(f"cohorts: 287 training, 200 test patients (simulated), {time.perf_counter() - t:.1f} s")
    print(f"{'model':38s} {'outcome':7s} " + " ".join(f"{'C ' + r:>13s} {'rho ' + r:>15s}" for r in REGIONS)
          + f" {'dC (SD)':>16s}")
    risks = {}
    for region in REGIONS:
        extractor = RadiomicsExtractor(preprocessor=VolumePreprocessor(normalize=region), n_jobs=args.n_jobs)
        t = time.perf_counter()
        extractor.fit(train.X).transform(train.X)
        extractor.transform(test.X)
        print(f"  radiomics with normalize={region!r}: {time.perf_counter() - t:.1f} s (extraction or cache)")
        for name, model in _models(extractor, args.n_jobs).items():
            for key in ("os", "dm"):
                model.fit(train.X, train[f"y_{key}"])
                risks[region, name, key] = model.predict(test.X)
    for name in _models(None, 1):
        for key in ("os", "dm"):
            y, truth = test[f"y_{key}"], test[f"risk_{key}"].to_numpy()
            cells, values = [], {}
            for region in REGIONS:
                risk = risks[region, name, key]
                values[region] = (_c_index(y, risk), float(spearmanr(risk, truth).statistic))
                cells.append(f"{values[region][0]:13.3f} {values[region][1]:15.2f}")
            diff = values["tumor"][0] - values["foreground"][0]
            sd = _paired_sd(y, risks["foreground", name, key], risks["tumor", name, key])
            print(f"{name:38s} {key.upper():7s} " + " ".join(cells) + f" {diff:+8.3f} ({sd:.3f})")
            rows.append({"part": "synthetic", "model": name, "outcome": key.upper(),
                         **{f"c_{r}": round(values[r][0], 4) for r in REGIONS},
                         **{f"spearman_{r}": round(values[r][1], 4) for r in REGIONS},
                         "c_diff_tumor_minus_foreground": round(diff, 4), "c_diff_sd": round(sd, 4)})


def bench_real(args, rows):
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate

    from sarcoma_survival.metrics import concordance_scorer

    sts = load_tcia_sts()
    print(f"\nTCIA STS, 51 real patients, repeated stratified 5-fold CV x {args.repeats} "
          "(per-fold Harrell C, mean +- SD)")
    print(f"{'model':38s} {'outcome':7s} " + " ".join(f"{r:>15s}" for r in REGIONS))
    scores = {}
    for region in REGIONS:
        extractor = RadiomicsExtractor(preprocessor=VolumePreprocessor(n4=False, normalize=region),
                                       n_jobs=args.n_jobs)
        for name, model in _models(extractor, args.n_jobs).items():
            for key in ("os", "dm"):
                y = sts[f"y_{key}"]
                folds = list(RepeatedStratifiedKFold(n_splits=5, n_repeats=args.repeats, random_state=0)
                             .split(sts.X, y["event"]))
                scores[region, name, key] = cross_validate(model, sts.X, y, cv=folds,
                                                           scoring=concordance_scorer)["test_score"]
    for name in _models(None, 1):
        for key in ("os", "dm"):
            cells = [scores[r, name, key] for r in REGIONS]
            print(f"{name:38s} {key.upper():7s} " + " ".join(f"{c.mean():.3f} +- {c.std():.3f}" for c in cells))
            rows.append({"part": "real", "model": name, "outcome": key.upper(),
                         **{f"c_{r}": round(float(c.mean()), 4) for r, c in zip(REGIONS, cells)},
                         **{f"c_sd_{r}": round(float(c.std()), 4) for r, c in zip(REGIONS, cells)}})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["synthetic", "real", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=2, help="CV repeats (real data)")
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--csv", default=None, help="also write the rows to this CSV file")
    args = parser.parse_args(argv)
    rows = []
    if args.part in ("synthetic", "all"):
        bench_synthetic(args, rows)
    if args.part in ("real", "all"):
        bench_real(args, rows)
    if args.csv:
        import radiomics

        fields = list(dict.fromkeys(k for row in rows for k in row))
        with open(args.csv, "w", newline="", encoding="utf-8") as handle:
            handle.write(f"# bench_normalization.py --part {args.part} --repeats {args.repeats}; synthetic rows "
                         f"SIMULATED; python {platform.python_version()}, pyradiomics {radiomics.__version__}\n")
            handle.write(f"# {machine_line()}\n")
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
