"""Answer time of ``POST /api/predict`` for one synthetic patient (issue 20 target: <= 5 s).

A 48^3 synthetic cohort (``make_synthetic_cohort``'s default image size) trains, for one
epoch (the answer time does not depend on training length), the paper's networks at
48^3: ``DenseNetSurvival`` and ``MMNNSurvival`` with their default DenseNet-121 and the
default ``VolumePreprocessor(size=48)`` (N4 on). Each model is served by ``create_app``
with a clinical-only ``SarculatorCoxPH`` beside it, and one new patient (its T1, T2, mask
and clinical fields) is posted through FastAPI's TestClient: upload parsing,
preprocessing, prediction, risk percentile, the curves figure and Grad-CAM are all
inside the timed call. The first request is a warm-up; the figure is the median of the
next ``--repeats`` (5).

The machine's cores are shared with other jobs: read the figures with that in mind.

Run: ``python benchmarks/bench_web.py [--threads 2] [--repeats 5]``.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from fastapi.testclient import TestClient

from sarcoma_survival import DenseNetSurvival, MMNNSurvival, SarculatorCoxPH, VolumePreprocessor
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.web import create_app


def _form(row):
    fields = {}
    for name in ("age", "sex", "tumor_size_cm", "tumor_depth", "grade", "histology", "location",
                 "tumor_volume_cm3", "neoadjuvant_chemo", "mets_at_presentation", "rt_timing"):
        value = row[name]
        fields[name] = (None, "" if isinstance(value, float) and np.isnan(value) else str(value))
    for name in ("t1", "t2", "mask"):
        fields[name] = (Path(row[name]).name, Path(row[name]).read_bytes())
    return fields


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=24)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(tempfile.mkdtemp(prefix="bench_web_"))
    cohort = make_synthetic_cohort(args.n_train + 1, random_state=0, data_dir=data)
    X, y = cohort.X.iloc[:-1], cohort.y_os[:-1]
    form = _form(cohort.X.iloc[-1])
    clinical = SarculatorCoxPH().fit(X, y)
    common = dict(preprocessor=VolumePreprocessor(size=48, cache_dir=data / "cache"), max_epochs=1,
                  batch_size=8, train_split=None, random_state=0)
    models = {
        "DenseNetSurvival (DenseNet-121, 48^3)": DenseNetSurvival(**common),
        "MMNNSurvival (DenseNet-121, 48^3)": MMNNSurvival(**common, gradient_blending=False),
    }
    print(f"torch threads: {args.threads}; median of {args.repeats} requests after one warm-up")
    for name, model in models.items():
        model.fit(X, y)
        client = TestClient(create_app(model, clinical_model=clinical))
        answer = client.post("/api/predict", files=form)
        assert answer.status_code == 200, answer.text
        assert "gradcam_png" in answer.json()
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            answer = client.post("/api/predict", files=form)
            seconds.append(time.perf_counter() - start)
            assert answer.status_code == 200
        print(f"{name}: median {statistics.median(seconds):.2f} s "
              f"(min {min(seconds):.2f}, max {max(seconds):.2f}) per patient")


if __name__ == "__main__":
    main()
