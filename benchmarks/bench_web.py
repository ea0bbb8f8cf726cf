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

The machine's cores are shared with other jobs: read the wall-clock figures with that in
mind. The process's CPU time per request (all its threads together) is printed too: it
depends little on the load, and divided by the threads used it bounds the wall time the
request would take on otherwise idle cores from below.

``--screenshot PATH`` then serves the MMNN with uvicorn, fills the page in headless
Chromium (Debian's ``chromium`` and ``chromium-driver``) and saves the result as a PNG:
the screenshot of the docs' web page.

Run: ``python benchmarks/bench_web.py [--threads 2] [--repeats 5] [--screenshot PATH]``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from fastapi.testclient import TestClient

from sarcoma_survival import (
    DenseNetSurvival,
    MMNNSurvival,
    SarculatorCoxPH,
    VolumePreprocessor,
)
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


def screenshot(app, row, path):
    """Fill the page for ``row`` in headless Chromium and save the result as ``path``."""
    import socket
    import threading

    import uvicorn

    # the page's browser driver is a test helper (tests/_browser.py), not part of the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from _browser import fill_and_predict, headless_chromium

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    driver = headless_chromium(1100, 1850)
    try:
        fill_and_predict(driver, f"http://127.0.0.1:{port}/", row, timeout=300)
        driver.save_screenshot(str(path))
    finally:
        driver.quit()
        server.should_exit = True
    print(f"saved {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=16)
    parser.add_argument("--screenshot", help="save a screenshot of the page's result (MMNN) here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(tempfile.mkdtemp(prefix="bench_web_"))
    cohort = make_synthetic_cohort(args.n_train + 1, random_state=0, data_dir=data)
    X, y = cohort.X.iloc[:-1], cohort.y_os[:-1]
    form = _form(cohort.X.iloc[-1])
    clinical = SarculatorCoxPH().fit(X, y)
    common = {"preprocessor": VolumePreprocessor(size=48, cache_dir=data / "cache"), "max_epochs": 1,
              "batch_size": 8, "train_split": None, "random_state": 0}
    models = {
        "DenseNetSurvival (DenseNet-121, 48^3)": DenseNetSurvival(**common),
        "MMNNSurvival (DenseNet-121, 48^3)": MMNNSurvival(**common, gradient_blending=False),
    }
    print(f"torch threads: {args.threads}; median of {args.repeats} requests after one warm-up")
    for name, model in models.items():
        model.fit(X, y)
        app = create_app(model, clinical_model=clinical)
        client = TestClient(app)
        answer = client.post("/api/predict", files=form)
        assert answer.status_code == 200, answer.text
        assert "gradcam_png" in answer.json()
        seconds, cpu = [], []
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            answer = client.post("/api/predict", files=form)
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert answer.status_code == 200
        print(f"{name}: median {statistics.median(seconds):.2f} s wall "
              f"(min {min(seconds):.2f}, max {max(seconds):.2f}) per patient; "
              f"median {statistics.median(cpu):.2f} CPU-seconds (all threads)")
    if args.screenshot:  # the last model (MMNN), with a DM model beside it for the DM-free curve
        dm = SarculatorCoxPH().fit(X, cohort.y_dm[:-1])
        screenshot(create_app(model, dm_model=dm, clinical_model=clinical), cohort.X.iloc[-1], args.screenshot)


if __name__ == "__main__":
    main()
