"""Does the multimodal network with gradient blending beat its parts? (issue 6 benchmark)

For each seed, a paper-size synthetic cohort (``make_synthetic_cohort(287,
random_state=seed)``) is split 70/15/15 as in the paper
(:func:`~sarcoma_survival.model_selection.train_val_test_split`). Neural models train on
the 70 % and select their epoch on the 15 % validation part (``validation_data``); the
other models fit on both parts (they have no use for a separate validation set). Every
model is then scored on one large fresh cohort drawn with another ``random_state``
(default 1000 patients), because the paper-size 15 % test set (44 patients) has a C-index
standard error near 0.07 (docs/user_guide/synthetic.rst); its C-index is reported too, to show the noise.

Rows: MMNN with gradient blending (library defaults, which retrain on the blend set's
patients with the estimated weights), the online run alone ("raw rule": no refit, no
floor or smoothing of the weights), the same with the paper's recipe where our defaults
differ (ReLU clinical MLP, ``blend_eps=1e-6``), MMNN without blending
(the paper's ablation), MMNN with fixed uniform weights, DenseNetSurvival (image only), ClinicalMLPSurvival,
ClinicalRSF,
RadiomicsCoxNet (radiomics + clinical, ElasticNet Cox; ``--no-radiomics`` skips it) and
the oracle (the generator's true log-hazard). Columns: Harrell's C on the large cohort
(mean +- SD over seeds), Spearman correlation of the predicted with the true risk, the C
of the 44-patient test split, fit seconds. For the MMNN rows the C of the auxiliary
clinical-only and image-only heads and the final blending weights are printed too, to
see which modality the network learnt from.

Full run (the lead runs it on a quiet machine; about 30-60 min per seed on 2 CPU cores):

    python benchmarks/bench_mmnn.py --seeds 0 1 2 --epochs 40 --out bench_mmnn.csv

CPU-feasible run used for the user guide (tiny DenseNet, 24^3, no N4, 30 epochs, Adam,
batch 32, tumor z-score; 10-20 s per neural fit, about 5 min in all on 1 CPU thread):

    python benchmarks/bench_mmnn.py --seeds 0 1 2 --image-size 24 --size 24 --no-n4 \
        --tiny-net --epochs 30 --warmup 5 --period 5 --no-radiomics --optimizer adam \
        --lr 0.001 --batch-size 32 --normalize tumor --test-seed 1 --threads 1 --n-jobs 1

The paper's optimizer recipe: drop ``--optimizer adam --lr 0.001 --batch-size 32``.

DenseNet-121 at 48^3 (the user guide's GPU table; about 45 s per MMNN fit on an H200,
one process per seed):

    python benchmarks/bench_mmnn.py --seeds 0 --image-size 48 --size 48 --no-n4 \
        --normalize tumor --optimizer adam --lr 0.001 --batch-size 32 --warmup 10 \
        --period 5 --no-radiomics --test-seed 1 --epochs 40 --threads 2 --n-jobs 2

``--models`` picks rows and their order; rows are appended to ``--out`` as they finish.

Smoke run (about a minute): ``python benchmarks/bench_mmnn.py --tiny``.
Every figure it prints is measured when it runs; nothing is stored but the CSV.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _machine import machine
from scipy.stats import spearmanr

from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import concordance_index
from sarcoma_survival.model_selection import train_val_test_split
from sarcoma_survival.models import ClinicalRSF, RadiomicsCoxNet
from sarcoma_survival.nn import ClinicalMLPSurvival, DenseNetSurvival, MMNNSurvival
from sarcoma_survival.preprocessing import VolumePreprocessor
from sarcoma_survival.radiomics import RadiomicsExtractor

TINY_NET = {"module__init_features": 8, "module__growth_rate": 4, "module__block_config": (1, 1)}


def build_models(args, seed, cache_dir):
    """Model name -> (estimator, whether it is a neural net that takes validation_data)."""
    volumes = VolumePreprocessor(size=args.size, n4=args.n4, normalize=args.normalize, masking=args.masking,
                                 cache_dir=cache_dir, n_jobs=args.n_jobs)
    net = dict(TINY_NET) if args.tiny_net else {}
    image = dict(preprocessor=volumes, max_epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                 random_state=seed, **net)
    if args.optimizer == "adam":
        image["optimizer"] = torch.optim.Adam
    mmnn = dict(image)
    if args.image_lr is not None:  # a peak of its own for the image subnetwork (one-cycle per group)
        mmnn["optimizer__param_groups"] = [("image_net.*", {"lr": args.image_lr})]
    blend = dict(blend_warmup=args.warmup, blend_period=args.period)
    for option in ("blend_eps", "blend_min_weight", "blend_smoothing", "blend_refit"):
        if getattr(args, option) is not None:
            blend[option] = getattr(args, option)
    # The rule's raw output (no floor, no averaging, no refit), our dO^2 floor and SELU MLP.
    raw = dict(blend_warmup=args.warmup, blend_period=args.period, blend_min_weight=0.0, blend_smoothing=0.0,
               blend_refit=False)
    # The paper's recipe where our defaults differ: ReLU clinical MLP, tiny dO^2 floor, raw rule.
    paper = dict(raw, blend_eps=1e-6, module__activation="relu")
    models = {
        "MMNN (gradient blending)": (MMNNSurvival(gradient_blending=True, **blend, **mmnn), True),
        "MMNN (blending, raw rule)": (MMNNSurvival(gradient_blending=True, **raw, **mmnn), True),
        "MMNN (blending, paper recipe)": (MMNNSurvival(gradient_blending=True, **paper, **mmnn), True),
        "MMNN (no blending)": (MMNNSurvival(gradient_blending=False, **mmnn), True),
        "MMNN (uniform weights)": (MMNNSurvival(gradient_blending="uniform", **mmnn), True),
        "DenseNetSurvival": (DenseNetSurvival(**image), True),
        "ClinicalMLPSurvival": (ClinicalMLPSurvival(max_epochs=args.mlp_epochs, random_state=seed), True),
        "ClinicalRSF": (ClinicalRSF(n_jobs=args.n_jobs, random_state=seed), False),
    }
    if args.radiomics:
        extractor = RadiomicsExtractor(
            preprocessor=VolumePreprocessor(n4=args.n4, cache_dir=cache_dir, n_jobs=args.n_jobs),
            cache_dir=cache_dir, n_jobs=args.n_jobs)
        models["RadiomicsCoxNet"] = (RadiomicsCoxNet(extractor, n_jobs=args.n_jobs, random_state=seed), False)
    unknown = sorted(set(args.models or ()) - set(models))
    if unknown:
        raise SystemExit(f"unknown model name(s) {unknown}; choose from {list(models)}")
    return {name: models[name] for name in (args.models or models)}  # in the order asked for


def heads_path(out):
    """Where the per-head table goes, beside ``--out``."""
    return Path(out).with_name(Path(out).stem + "_heads.csv")


def _c(y, risk):
    return float(concordance_index(y, risk))


def run(args):
    torch.set_num_threads(args.threads)
    outcome = f"y_{args.outcome}"
    rows, extras = [], []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(args.data_dir or temporary)
        cache_dir = folder / "cache"
        t = time.perf_counter()
        test = make_synthetic_cohort(args.n_test, image_size=args.image_size, random_state=args.test_seed,
                                     data_dir=folder / "test", n_jobs=args.n_jobs)
        truth = np.asarray(test[f"risk_{args.outcome}"], dtype=float)
        oracle = _c(test[outcome], truth)
        print(f"test cohort: {args.n_test} patients (random_state={args.test_seed}), "
              f"{int(test[outcome]['event'].sum())} events, ready in {time.perf_counter() - t:.0f} s; "
              f"oracle C = {oracle:.3f}")
        for seed in args.seeds:
            cohort = make_synthetic_cohort(args.n_train, image_size=args.image_size, random_state=seed,
                                           data_dir=folder / f"train{seed}", n_jobs=args.n_jobs)
            X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(
                cohort.X, cohort[outcome], random_state=seed)
            small_truth = np.asarray(cohort[f"risk_{args.outcome}"].loc[X_te.index], dtype=float)
            rows.append({"seed": seed, "model": "oracle", "c_test": oracle, "spearman": 1.0,
                         "c_small_test": _c(y_te, small_truth), "fit_s": 0.0})
            X_fit = pd.concat([X_tr, X_val])
            y_fit = np.concatenate([y_tr, y_val])
            for name, (model, neural) in build_models(args, seed, cache_dir).items():
                t = time.perf_counter()
                if neural:
                    model.fit(X_tr, y_tr, validation_data=(X_val, y_val))
                else:
                    model.fit(X_fit, y_fit)
                fit_s = time.perf_counter() - t
                risk = model.predict(test.X)
                row = {"seed": seed, "model": name, "c_test": _c(test[outcome], risk),
                       "spearman": float(spearmanr(risk, truth).statistic),
                       "c_small_test": _c(y_te, model.predict(X_te)), "fit_s": fit_s}
                if isinstance(model, MMNNSurvival):
                    heads = model.predict_heads(test.X)
                    weights = model.blending_weights_.iloc[-1]
                    extras.append({"seed": seed, "model": name, "best_epoch": model.best_epoch_,
                                   "c_head_clinical": _c(test[outcome], heads["clinical"].to_numpy()),
                                   "c_head_image": _c(test[outcome], heads["image"].to_numpy()),
                                   **{f"w_{k}": v for k, v in weights.items()}})
                    pd.DataFrame(extras).to_csv(heads_path(args.out), index=False)
                rows.append(row)
                pd.DataFrame(rows).to_csv(args.out, index=False)  # so that a killed run keeps its rows
                print(f"seed {seed}  {name:28s} C={row['c_test']:.3f}  rho={row['spearman']:+.3f}  "
                      f"Csmall={row['c_small_test']:.3f}  {fit_s:7.1f} s", flush=True)
    return pd.DataFrame(rows), pd.DataFrame(extras)


def summarize(results):
    """Mean +- SD over seeds per model, in the order models first appear."""
    order = list(dict.fromkeys(results["model"]))
    table = results.groupby("model").agg(["mean", "std"]).loc[order]

    def cell(column, digits=3):
        return [f"{m:.{digits}f} +- {s:.{digits}f}" if np.isfinite(s) else f"{m:.{digits}f}"
                for m, s in zip(table[(column, "mean")], table[(column, "std")])]

    return pd.DataFrame({"C (large test)": cell("c_test"), "Spearman vs true risk": cell("spearman"),
                         "C (paper-size test split)": cell("c_small_test"), "fit s": cell("fit_s", 0)},
                        index=order)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=287)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--test-seed", type=int, default=12345)
    parser.add_argument("--outcome", choices=["os", "dm"], default="os")
    parser.add_argument("--image-size", type=int, default=32, help="synthetic in-plane matrix")
    parser.add_argument("--size", type=int, default=32, help="network input cube (VolumePreprocessor size)")
    parser.add_argument("--n4", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--mlp-epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.01, help="peak one-cycle lr of the image models")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--normalize", default="foreground", choices=["foreground", "image", "crop", "tumor"],
                        help="VolumePreprocessor z-score region of the image models")
    parser.add_argument("--masking", default="none", choices=["none", "tumor", "margin"],
                        help="VolumePreprocessor masking of the image models")
    parser.add_argument("--image-lr", type=float, default=None,
                        help="peak lr of the MMNN image subnetwork (default: --lr)")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                        help="sgd: the paper's SGD + Nesterov (the estimators' default)")
    parser.add_argument("--blend-eps", type=float, default=None,
                        help="floor of dO^2 in the weight rule (default: the estimator's, 1e-2)")
    parser.add_argument("--blend-min-weight", type=float, default=None,
                        help="least weight of every head (default: the estimator's)")
    parser.add_argument("--blend-smoothing", type=float, default=None,
                        help="share of the previous estimate kept at each update (default: the estimator's)")
    parser.add_argument("--blend-refit", action=argparse.BooleanOptionalAction, default=None,
                        help="retrain on every training patient with the estimated weights (default: the estimator's)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--period", type=int, default=5)
    parser.add_argument("--tiny-net", action="store_true", help="a 2-block DenseNet instead of DenseNet-121")
    parser.add_argument("--radiomics", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--models", nargs="*", default=None, help="only these rows, in this order (names as printed)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--data-dir", default=None, help="keep cohorts and caches here")
    parser.add_argument("--out", default="bench_mmnn.csv")
    parser.add_argument("--tiny", action="store_true", help="smoke run: tiny cohorts and nets, 1 seed")
    args = parser.parse_args(argv)
    if args.tiny:
        args.seeds, args.n_train, args.n_test = [0], 60, 80
        args.image_size, args.size, args.epochs, args.mlp_epochs = 16, 16, 3, 5
        args.warmup, args.period, args.tiny_net, args.n4, args.radiomics = 1, 1, True, False, False

    results, extras = run(args)
    results.assign(**machine()).to_csv(args.out, index=False)  # CPU model, instruction set, float kernels
    print(f"\nsynthetic {args.outcome.upper()}, trained on {args.n_train} patients (70/15/15 split), "
          f"scored on {args.n_test} fresh patients; seeds {args.seeds}; per-seed rows in {args.out}")
    print(summarize(results).to_string())
    if len(extras):
        print("\nMMNN auxiliary heads on the large test cohort, and the last blending weights")
        print(extras.groupby("model").mean(numeric_only=True).drop(columns="seed").round(3).to_string())


if __name__ == "__main__":
    main()
