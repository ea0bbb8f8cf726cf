"""Benchmark of the synthetic cohort: generation time and the signal it carries.

Prints, for the default cohort (287 patients, ``random_state=0``) and a large fresh
cohort (1000 patients, ``random_state=1``):

* generation seconds (files written from scratch into a temporary folder);
* Harrell's C of the true risk (oracle), of its image-only and clinical-only parts;
* Harrell's C of a Cox model on the 11 clinical columns
  (:class:`~sarcoma_survival.preprocessing.ClinicalEncoder` + scikit-survival's
  ``CoxPHSurvivalAnalysis``), apparent on the 287 patients it was fitted on and
  on the fresh cohort, with the Spearman correlation of its prediction with the
  true risk;
* how well two simple image measurements recover the latent components: the
  fraction of T2-bright voxels in the mask (histogram component) and the number
  of necrotic connected components (spatial component).

Every number is simulated. Run: ``python benchmarks/bench_synthetic.py``.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import SimpleITK as sitk
from scipy.stats import spearmanr
from sklearn.pipeline import make_pipeline
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored

from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.preprocessing import ClinicalEncoder


def harrell(y, risk):
    return concordance_index_censored(y["event"], y["time"], np.asarray(risk, dtype=float))[0]


def image_measurements(X):
    """T2-bright fraction and number of T1-dark components inside each mask."""
    bright, components = [], []
    for pid in X.index:
        t1 = sitk.ReadImage(X.at[pid, "t1"], sitk.sitkFloat32)
        t2 = sitk.Resample(sitk.ReadImage(X.at[pid, "t2"], sitk.sitkFloat32), t1, sitk.Transform(),
                           sitk.sitkLinear, 0.0)
        mask = sitk.ReadImage(X.at[pid, "mask"])
        m = sitk.GetArrayFromImage(mask).astype(bool)
        v2 = sitk.GetArrayFromImage(t2)[m]
        bright.append(np.mean(v2 > 0.5 * (np.median(v2) + np.percentile(v2, 99))))
        a1 = sitk.GetArrayFromImage(t1)
        inside = a1[m]
        dark = (a1 < 0.5 * (np.percentile(inside, 5) + np.median(inside))) & m
        labels = sitk.ConnectedComponent(sitk.GetImageFromArray(dark.astype(np.uint8)))
        sizes = np.bincount(sitk.GetArrayFromImage(labels).ravel())[1:]
        components.append(int(np.sum(sizes >= 3)))
    return np.array(bright), np.array(components)


def report(name, cohort, cox):
    print(f"\n== {name}: {len(cohort.X)} patients, OS events {cohort.y_os['event'].sum()}, "
          f"DM events {cohort.y_dm['event'].sum()}")
    for outcome in ("os", "dm"):
        y = cohort[f"y_{outcome}"]
        print(f"  {outcome.upper()} Harrell C: oracle {harrell(y, cohort[f'risk_{outcome}']):.3f} | "
              f"image-only part {harrell(y, cohort[f'image_risk_{outcome}']):.3f} | "
              f"clinical-only part {harrell(y, cohort[f'clinical_risk_{outcome}']):.3f} | "
              f"clinical Cox {harrell(y, cox[outcome].predict(cohort.X)):.3f} "
              f"(Spearman with true risk "
              f"{spearmanr(cox[outcome].predict(cohort.X), cohort[f'risk_{outcome}']).statistic:.3f})")
    z_n, z_p = cohort.latent["z_necrosis"], cohort.latent["z_pattern"]
    y = cohort.y_os
    print(f"  OS Harrell C of parts: necrosis (histogram) only {harrell(y, z_n):.3f} | "
          f"pattern (spatial) only {harrell(y, z_p):.3f} | "
          f"clinical + necrosis, the best a clinical + first-order model can do "
          f"{harrell(y, cohort.risk_os - (cohort.image_risk_os - cohort.params['necrosis_weight'] * z_n)):.3f}")
    bright, components = image_measurements(cohort.X)
    print(f"  T2-bright fraction vs necrotic_fraction: Spearman "
          f"{spearmanr(bright, cohort.latent['necrotic_fraction']).statistic:.3f}; "
          f"its OS C {harrell(cohort.y_os, bright):.3f}")
    print(f"  necrotic components vs scatter: Spearman "
          f"{spearmanr(components, cohort.latent['scatter']).statistic:.3f}; "
          f"vs necrotic_fraction {spearmanr(components, cohort.latent['necrotic_fraction']).statistic:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument("--n-fresh", type=int, default=1000)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        start, cpu = time.perf_counter(), time.process_time()
        cohort = make_synthetic_cohort(287, image_size=args.image_size, random_state=0, data_dir=folder,
                                       n_jobs=args.n_jobs)
        print(f"generation, 287 patients: {time.perf_counter() - start:.1f} s wall, "
              f"{time.process_time() - cpu:.1f} s CPU of this process")
        start = time.perf_counter()
        make_synthetic_cohort(287, image_size=args.image_size, random_state=0, data_dir=folder)
        print(f"reuse, 287 patients: {time.perf_counter() - start:.2f} s")
        start, cpu = time.perf_counter(), time.process_time()
        fresh = make_synthetic_cohort(args.n_fresh, image_size=args.image_size, random_state=1, data_dir=folder,
                                      n_jobs=args.n_jobs)
        print(f"generation, {args.n_fresh} patients: {time.perf_counter() - start:.1f} s wall, "
              f"{time.process_time() - cpu:.1f} s CPU of this process")
        print(f"disk: {sum(f.stat().st_size for f in fresh.folder.rglob('*') if f.is_file()) / 2**20:.0f} MiB "
              f"for {args.n_fresh} patients")
        cox = {
            outcome: make_pipeline(ClinicalEncoder("clinical"), CoxPHSurvivalAnalysis(alpha=0.01)).fit(
                cohort.X, cohort[f"y_{outcome}"]
            )
            for outcome in ("os", "dm")
        }
        report("default cohort (random_state=0; clinical Cox is apparent, fitted here)", cohort, cox)
        report("fresh cohort (random_state=1; clinical Cox fitted on the default cohort)", fresh, cox)


if __name__ == "__main__":
    main()
