"""Fit every exported estimator on a tiny synthetic cohort and dump its outputs to an .npz.

A refactoring aid, not a test: run it before a change and after it, on the same machine,
and compare the two files bitwise::

    python scripts/dump_nn_predictions.py /tmp/before.npz
    ... change the code ...
    python scripts/dump_nn_predictions.py /tmp/after.npz --compare /tmp/before.npz

Predictions of trained networks differ between CPUs (float rounding), so the numbers it
writes are only comparable with numbers written on the same machine; never commit them.
Fits use fixed seeds: the neural ones (their three estimators, the MMNN in its four
blending modes, a competing-risks fit with ``cause=1``, ``micro_batch_size`` fits), the
clinical and radiomics models, and the competing-risks models. For each fit the file holds the risk scores, survival
functions (or cumulative incidences for a competing-risks fit), the per-epoch training and
validation losses and, for an MMNN, the blending weights.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np


def _tiny_image(**params):
    return {"module__init_features": 8, "module__growth_rate": 4, "module__block_config": (1, 1),
            "max_epochs": 4, "batch_size": 7, "random_state": 0, **params}


def _fits(data):
    """(name, estimator factory, X, y) of every fit, each cheap on one CPU core."""
    from sarcoma_survival import (
        ClinicalRSF,
        RadiomicsCoxNet,
        RadiomicsRSF,
        SarculatorCoxPH,
        SarculatorRSF,
    )
    from sarcoma_survival.competing_risks import CauseSpecificCoxPH, FineGrayCoxPH, SarculatorFineGray
    from sarcoma_survival.nn import ClinicalMLPSurvival, DenseNetSurvival, MMNNSurvival
    from sarcoma_survival.preprocessing import VolumePreprocessor

    def volumes():
        return VolumePreprocessor(size=16, n4=False, cache=False)

    X, y = data.X, data.y_os
    y_comp = data.y_dm_competing
    numeric = X[["age", "tumor_size_cm"]]
    mmnn = {**_tiny_image(module__hidden_sizes=(8, 6)), "blend_warmup": 1, "blend_period": 1}
    fits = [
        ("clinical_mlp", lambda: ClinicalMLPSurvival(max_epochs=8, batch_size=16, random_state=0), X, y),
        ("clinical_mlp_micro", lambda: ClinicalMLPSurvival(max_epochs=8, batch_size=16, micro_batch_size=5,
                                                           random_state=0), X, y),
        ("clinical_mlp_efron", lambda: ClinicalMLPSurvival(max_epochs=5, criterion__ties="efron",
                                                           random_state=0), X, y),
        ("clinical_mlp_competing", lambda: ClinicalMLPSurvival(max_epochs=8, batch_size=16, cause=1,
                                                               random_state=0), X, y_comp),
        ("clinical_mlp_competing_cause2", lambda: ClinicalMLPSurvival(max_epochs=5, cause=2,
                                                                      random_state=0), X, y_comp),
        ("densenet", lambda: DenseNetSurvival(preprocessor=volumes(), **_tiny_image()), X, y),
        ("densenet_competing", lambda: DenseNetSurvival(preprocessor=volumes(), **_tiny_image(max_epochs=2)),
         X, y_comp),
        ("mmnn_refit", lambda: MMNNSurvival(preprocessor=volumes(), blend_refit=True, **mmnn), X, y),
        ("mmnn_online", lambda: MMNNSurvival(preprocessor=volumes(), blend_refit=False, blend_smoothing=0.3,
                                             blend_min_weight=0.05, **mmnn), X, y),
        ("mmnn_ablation", lambda: MMNNSurvival(preprocessor=volumes(), gradient_blending=False, **mmnn), X, y),
        ("mmnn_uniform", lambda: MMNNSurvival(preprocessor=volumes(), gradient_blending="uniform", **mmnn), X, y),
        ("mmnn_refit_no_estimate", lambda: MMNNSurvival(preprocessor=volumes(), **{**mmnn, "blend_warmup": 4}),
         X, y),
        ("mmnn_micro", lambda: MMNNSurvival(preprocessor=volumes(), micro_batch_size=3, **mmnn), X, y),
        ("mmnn_competing", lambda: MMNNSurvival(preprocessor=volumes(), cause=1, blend_refit=False, **mmnn),
         X, y_comp),
        ("mmnn_competing_refit", lambda: MMNNSurvival(preprocessor=volumes(), cause=2, **mmnn), X, y_comp),
        ("sarculator_rsf", lambda: SarculatorRSF(n_estimators=20, random_state=0), X, y),
        ("sarculator_coxph", lambda: SarculatorCoxPH(), X, y),
        ("clinical_rsf", lambda: ClinicalRSF(n_estimators=20, random_state=0), X, y),
        # competing-risks models: on numeric columns, and on the cohort table
        ("fine_gray", lambda: FineGrayCoxPH(alpha=0.1), numeric, y_comp),
        ("cause_specific", lambda: CauseSpecificCoxPH(cause=2, alpha=0.1), numeric, y_comp),
        ("fine_gray_cohort", lambda: FineGrayCoxPH(alpha=1.0, min_frequency=2), X, y_comp),
        ("cause_specific_cohort", lambda: CauseSpecificCoxPH(alpha=1.0, min_frequency=2), X, y_comp),
        ("sarculator_fine_gray", lambda: SarculatorFineGray(min_frequency=2), X, y_comp),
    ]
    try:  # radiomics models need pyradiomics (optional)
        import radiomics  # noqa: F401
    except ImportError:
        print("pyradiomics missing: radiomics models skipped", file=sys.stderr)
    else:
        fits += [
            ("radiomics_rsf", lambda: RadiomicsRSF(n_estimators=20, random_state=0), X, y),
            ("radiomics_coxnet", lambda: RadiomicsCoxNet(random_state=0), X, y),
        ]
    return fits


def _outputs(name, model, X, y):
    out = {f"{name}/predict": model.predict(X)}
    times = np.quantile(y["time"], [0.2, 0.5, 0.8])
    if y.dtype["event"].kind == "b":
        out[f"{name}/survival"] = np.vstack([fn(times) for fn in model.predict_survival_function(X.iloc[:5])])
    else:
        out[f"{name}/incidence"] = model.predict_cumulative_incidence(X, times)
    history = getattr(model, "history_", None)
    if history is not None:
        for key in ("train_loss", "valid_loss"):
            values = [row.get(key, np.nan) for row in history]
            out[f"{name}/{key}"] = np.asarray(values, dtype=float)
    weights = getattr(model, "blending_weights_", None)
    if weights is not None:
        out[f"{name}/blending_weights"] = weights.to_numpy()
        out[f"{name}/blending_epochs"] = weights.index.to_numpy()
    if hasattr(model, "predict_heads"):
        out[f"{name}/heads"] = model.predict_heads(X).to_numpy()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="the .npz to write (keep it outside the repository)")
    parser.add_argument("--compare", help="an .npz written on this machine before a change")
    parser.add_argument("--only", nargs="*", help="names of the fits to run (default: all)")
    args = parser.parse_args(argv)

    import torch

    from sarcoma_survival.datasets import make_synthetic_cohort

    torch.set_num_threads(1)  # one thread: the reductions' order does not depend on the load
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        data = make_synthetic_cohort(30, image_size=16, random_state=0, competing_death_weight=1,
                                     data_dir=folder)
        for name, factory, X, y in _fits(data):
            if args.only and name not in args.only:
                continue
            start = time.perf_counter()
            model = factory().fit(X, y)
            out.update(_outputs(name, model, X, y))
            print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    np.savez(args.output, **out)
    if args.compare is None:
        return 0
    before = np.load(args.compare)
    keys = sorted(set(out) & set(before.files))
    differ = [k for k in keys if not np.array_equal(before[k], out[k], equal_nan=True)]
    missing = sorted(set(before.files) - set(out)) if not args.only else []
    for key in differ:
        print(f"DIFFERS {key}: max |diff| {np.nanmax(np.abs(before[key] - out[key])):.3g}")
    for key in missing:
        print(f"MISSING {key}")
    print(f"{len(keys) - len(differ)}/{len(keys)} arrays bitwise identical")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main())
