"""Safe model files (``save_model`` / ``load_model``) against joblib: time, size, equality.

Fits every registered model on a small synthetic cohort (the demo's compact networks for
the image models), then for each one saves and loads it both ways and prints the seconds,
the file sizes and whether ``predict`` and ``predict_survival_function`` of the loaded model
equal the fitted model's bit for bit. Times are the best of ``--repeat`` runs on a shared
machine: compare the two formats within one run, not across runs.

Usage:

    python benchmarks/bench_model_files.py [--n-patients 60] [--image-size 16] [--repeat 3]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from sarcoma_survival import load_model, save_model
from sarcoma_survival._demo import demo_settings
from sarcoma_survival._registry import IMAGE_MODELS, available_models, make_model
from sarcoma_survival.datasets import make_synthetic_cohort


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def _same(a, b, X):
    return bool(
        np.array_equal(a.predict(X), b.predict(X))
        and np.array_equal(a.predict_survival_function(X, return_array=True),
                           b.predict_survival_function(X, return_array=True))
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=60)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--max-epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp())
    cohort = make_synthetic_cohort(args.n_patients, image_size=args.image_size, random_state=0,
                                   data_dir=folder / "data")
    rows = []
    for name in available_models():
        model = demo_settings(make_model(name), image_size=args.image_size, max_epochs=args.max_epochs,
                              random_state=0, n_jobs=1, images=name in IMAGE_MODELS)
        model.fit(cohort.X, cohort.y_os)
        safe, pkl = folder / f"{name}.ssm", folder / f"{name}.joblib"
        t_save, _ = _best(lambda m=model, p=safe: save_model(m, p), args.repeat)
        t_load, loaded = _best(lambda p=safe: load_model(p), args.repeat)
        j_save, _ = _best(lambda m=model, p=pkl: joblib.dump(m, p), args.repeat)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            j_load, _ = _best(lambda p=pkl: joblib.load(p), args.repeat)
        rows.append({
            "model": name, "safe_save_s": t_save, "safe_load_s": t_load, "safe_kB": safe.stat().st_size / 1e3,
            "joblib_save_s": j_save, "joblib_load_s": j_load, "joblib_kB": pkl.stat().st_size / 1e3,
            "identical_predictions": _same(model, loaded, cohort.X),
        })
    table = pd.DataFrame(rows).set_index("model")
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(table.to_string())


if __name__ == "__main__":
    main()
