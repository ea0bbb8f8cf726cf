"""Where must gradient blending win? The MMNN with and without it across simulator regimes (issue 28).

For each regime (a set of ``make_synthetic_cohort`` arguments, :data:`REGIMES`) and each
seed, a paper-size synthetic cohort (``make_synthetic_cohort(287, random_state=seed,
**regime)``) is split 70/15/15 as in the paper; the neural models train on the 70 % and
select their epoch on the 15 % (``validation_data``). Every model is scored (Harrell's C
of OS) on one large fresh cohort per regime, drawn once with ``random_state=--test-seed``
(default 1000 patients): scoring needs only prediction.

Regimes (all simulated):

* ``additive`` -- today's default cohort: clinical and image signals informative,
  independent and additive.
* ``noisy-clinical`` -- the regime where naive fusion should fail: a weak clinical signal
  (``clinical_weight=0.5``), 40 uninformative clinical columns that the clinical branch
  reads and can memorise (``clinical_noise_columns=40``; the clinical networks get a
  ``ClinicalEncoder`` naming them), and the default image signal.
* ``no-image-signal`` -- the image carries no signal (``necrosis_weight=0,
  pattern_weight=0``): the image branch can only memorise.

Models (the CPU-sized network of ``bench_mmnn.py``'s CPU run: tiny DenseNet
``module__init_features=8, module__growth_rate=4, module__block_config=(1, 1)``, 24^3 input
without N4, tumor z-score, Adam lr 1e-3, batch 32, 30 epochs by default -- the committed CSV
used ``--epochs 20`` to fit the shared CPU's time; blending warm-up 5, period 5):
MMNN with gradient blending (library defaults otherwise, so with the refit), without
blending (the paper's ablation), with fixed uniform weights, DenseNetSurvival (image only)
and ClinicalMLPSurvival (clinical only, 100 epochs). Optional rows (``--models``): the
blending MMNN's online run alone, without the refit (``blend_refit=False``), and the
blending MMNN with a blend set twice the default (``blend_size=0.4``).

Rows are appended to ``--out`` as each fit finishes, with the CPU model and instruction set
(``_machine.py``); a rerun skips the (regime, seed, model) rows already there, so a killed
run resumes. For the blending MMNN the per-estimation head losses (training and blend set)
and raw weights of the first (online) run go to ``<out>_history.csv``, so that the
overfitting-to-generalisation ratios can be recomputed by hand.

Run of ``benchmarks/measured/blending_regimes_cpu.csv`` (two processes, one torch thread
each, sharing the cohorts and caches of ``--data-dir``; about 70 minutes on a 2-core CPU
shared with other jobs)::

    cd benchmarks
    python bench_blending_regimes.py --epochs 20 --seeds 0 1 2 3 4 --data-dir DIR \
        --out measured/blending_regimes_cpu.csv
    python bench_blending_regimes.py --epochs 20 --seeds 5 6 7 8 9 --data-dir DIR \
        --out measured/blending_regimes_cpu.csv

Summary and figure from the CSV (paired differences with 95 % t-intervals over seeds)::

    python bench_blending_regimes.py --summarize measured/blending_regimes_cpu.csv \
        --figure ../docs/_static/blending_regimes.png

It also recomputes the blending rule by hand from ``measured/blending_regimes_cpu_history.csv``.

Every figure printed is measured when it runs; nothing is stored but the CSVs and figure.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _machine import machine

from sarcoma_survival._schema import CLINICAL_COLUMNS
from sarcoma_survival.compare import paired_interval
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import concordance_index
from sarcoma_survival.model_selection import train_val_test_split
from sarcoma_survival.nn import ClinicalMLPSurvival, DenseNetSurvival, MMNNSurvival
from sarcoma_survival.preprocessing import ClinicalEncoder, VolumePreprocessor

#: Simulator arguments of each regime (simulated data; see the module docstring).
REGIMES = {
    "additive": {},
    "noisy-clinical": {"clinical_weight": 0.5, "clinical_noise_columns": 40},
    "no-image-signal": {"necrosis_weight": 0.0, "pattern_weight": 0.0},
}
TINY_NET = {"module__init_features": 8, "module__growth_rate": 4, "module__block_config": (1, 1)}
BLEND = "MMNN (gradient blending)"
NO_BLEND = "MMNN (no blending)"
UNIFORM = "MMNN (uniform weights)"
IMAGE = "DenseNetSurvival"
CLINICAL = "ClinicalMLPSurvival"
MODELS = (BLEND, NO_BLEND, UNIFORM, IMAGE, CLINICAL)
#: Optional row (``--models``): the online blending run alone, without the refit on the blend set's patients.
ONLINE = "MMNN (blending, online, no refit)"
#: Optional row: a blend set twice the default size (40 % of the training part instead of 20 %).
BIG_BLEND = "MMNN (blending, blend set 40 %)"
OPTIONAL = (ONLINE, BIG_BLEND)
#: Columns of the per-seed CSV, in order (rows are appended, so the order is fixed here);
#: the machine's columns (``_machine.py``) follow.
COLUMNS = ("regime", "seed", "model", "c_test", "oracle_c", "n_train", "n_val", "n_test", "test_seed", "epochs",
           "image_size", "best_epoch", "fit_s", "c_head_clinical", "c_head_image", "w_last_multimodal",
           "w_last_clinical", "w_last_image")


def build_models(args, seed, cache_dir, noise):
    """Model name -> estimator. ``noise``: the noise columns the clinical networks read."""
    volumes = VolumePreprocessor(size=args.size, n4=False, normalize="tumor", cache_dir=cache_dir, n_jobs=1)
    image = dict(preprocessor=volumes, max_epochs=args.epochs, lr=1e-3, batch_size=32,
                 optimizer=torch.optim.Adam, random_state=seed, **TINY_NET)
    clinical = {}
    if noise:
        clinical = {"clinical_preprocessor": ClinicalEncoder(columns=[*CLINICAL_COLUMNS, *noise])}
    mmnn = dict(image, **clinical)
    blend = dict(blend_warmup=args.warmup, blend_period=args.period)
    models = {
        BLEND: MMNNSurvival(gradient_blending=True, **blend, **mmnn),
        ONLINE: MMNNSurvival(gradient_blending=True, blend_refit=False, **blend, **mmnn),
        BIG_BLEND: MMNNSurvival(gradient_blending=True, blend_size=0.4, **blend, **mmnn),
        NO_BLEND: MMNNSurvival(gradient_blending=False, **mmnn),
        UNIFORM: MMNNSurvival(gradient_blending="uniform", **mmnn),
        IMAGE: DenseNetSurvival(**image),
        CLINICAL: ClinicalMLPSurvival(
            max_epochs=args.mlp_epochs, random_state=seed,
            **({"preprocessor": clinical["clinical_preprocessor"]} if noise else {})),
    }
    return {name: models[name] for name in args.models}


def _c(y, risk):
    return float(concordance_index(y, np.asarray(risk, dtype=float)))


def _append(path, frame):
    """Append rows to a CSV (header only when new), under a lock: two processes share it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"bench_blending_{key}.lock", "w") as lock:  # not beside the CSV
        fcntl.flock(lock, fcntl.LOCK_EX)
        header = not path.exists() or path.stat().st_size == 0
        frame.to_csv(path, mode="a", header=header, index=False)


def _done(path):
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return set()
    rows = pd.read_csv(path)
    return set(zip(rows["regime"], rows["seed"], rows["model"]))


def history_path(out):
    return Path(out).with_name(Path(out).stem + "_history.csv")


def _blend_history(model):
    """Per-estimation losses of each head and the raw rule's weights (first, online run)."""
    history = model.blend_history_ if model.blend_history_ is not None else model.history_
    rows = []
    for entry in history:
        keys = [k for k in entry if k.startswith(("blend_train_loss_", "blend_heldout_loss_", "blend_raw_weight_"))]
        if keys:
            rows.append({"epoch": entry["epoch"], **{k: entry[k] for k in sorted(keys)}})
    return pd.DataFrame(rows)


def _test_cohort(args, folder, regime):
    t = time.perf_counter()
    test = make_synthetic_cohort(args.n_test, image_size=args.image_size, random_state=args.test_seed,
                                 data_dir=folder / regime / "test", **REGIMES[regime])
    noise = [c for c in test.X.columns if c.startswith("noise_")]
    print(f"{regime}: test cohort {args.n_test} patients, {int(test.y_os['event'].sum())} OS events, "
          f"oracle C {_c(test.y_os, test.risk_os):.3f}, {len(noise)} noise columns, "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    return test, noise


def run(args):
    torch.set_num_threads(args.threads)
    done = _done(args.out)
    info = machine()
    folder = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_blending_"))
    tests = {}  # regime -> (test cohort, noise columns), drawn once per regime
    # seeds outer, regimes inner: a run cut short leaves every regime with the same seeds
    for seed in args.seeds:
        for regime in args.regimes:
            if all((regime, seed, m) in done for m in args.models):
                continue
            if regime not in tests:
                tests[regime] = _test_cohort(args, folder, regime)
            test, noise = tests[regime]
            cache_dir = folder / regime / "cache"
            cohort = make_synthetic_cohort(args.n_train, image_size=args.image_size, random_state=seed,
                                           data_dir=folder / regime / "train", **REGIMES[regime])
            X_tr, X_val, _, y_tr, y_val, _ = train_val_test_split(cohort.X, cohort.y_os, random_state=seed)
            for name, model in build_models(args, seed, cache_dir, noise).items():
                if (regime, seed, name) in done:
                    continue
                t = time.perf_counter()
                model.fit(X_tr, y_tr, validation_data=(X_val, y_val))
                fit_s = time.perf_counter() - t
                row = {"regime": regime, "seed": seed, "model": name, "c_test": _c(test.y_os, model.predict(test.X)),
                       "oracle_c": _c(test.y_os, test.risk_os), "n_train": len(X_tr), "n_val": len(X_val),
                       "n_test": args.n_test, "test_seed": args.test_seed, "epochs": args.epochs,
                       "image_size": args.image_size, "best_epoch": getattr(model, "best_epoch_", np.nan),
                       "fit_s": fit_s}
                if isinstance(model, MMNNSurvival):
                    heads = model.predict_heads(test.X)
                    row["c_head_clinical"] = _c(test.y_os, heads["clinical"])
                    row["c_head_image"] = _c(test.y_os, heads["image"])
                    row.update({f"w_last_{k}": float(v) for k, v in model.blending_weights_.iloc[-1].items()})
                    if name == BLEND:
                        hist = _blend_history(model)
                        if len(hist):
                            _append(history_path(args.out), hist.assign(regime=regime, seed=seed, model=name))
                _append(args.out, pd.DataFrame([row]).reindex(columns=list(COLUMNS)).assign(**info))
                print(f"{regime:16s} seed {seed}  {name:26s} C={row['c_test']:.3f}  {fit_s:6.1f} s", flush=True)


def run_ensemble(args):
    """Item 5 of issue 28: a 5-member ``SeedEnsemble`` of the default MMNN against its members.

    Additive regime, the training cohort of ``--ensemble-cohort-seed`` (its 85 % train +
    validation part; members select their epoch on their own inner split, as ``SeedEnsemble``
    fits them with ``fit(X, y)``), repeats ``r`` in ``--ensemble-repeats`` with member seeds
    ``5r .. 5r + 4``; C of OS on the regime's fresh 1000 patients. Rows: one per member and
    one per ensemble.
    """
    from sarcoma_survival.models import SeedEnsemble

    torch.set_num_threads(args.threads)
    info = machine()
    folder = Path(args.data_dir or tempfile.mkdtemp(prefix="bench_blending_"))
    test, _ = _test_cohort(args, folder, "additive")
    cohort = make_synthetic_cohort(args.n_train, image_size=args.image_size, random_state=args.ensemble_cohort_seed,
                                   data_dir=folder / "additive" / "train")
    X_tr, X_val, _, y_tr, y_val, _ = train_val_test_split(cohort.X, cohort.y_os, random_state=args.ensemble_cohort_seed)
    X_fit, y_fit = pd.concat([X_tr, X_val]), np.concatenate([y_tr, y_val])
    member = build_models(argparse.Namespace(**{**vars(args), "models": [BLEND]}), 0,
                          folder / "additive" / "cache", [])[BLEND]
    for r in args.ensemble_repeats:
        seeds = tuple(range(5 * r, 5 * r + 5))
        ensemble = SeedEnsemble(member, random_states=seeds)
        t = time.perf_counter()
        ensemble.fit(X_fit, y_fit)
        fit_s = time.perf_counter() - t
        rows = [{"kind": "member", "repeat": r, "random_state": str(seed), "c_test": _c(test.y_os, m.predict(test.X))}
                for seed, m in zip(seeds, ensemble.estimators_)]
        rows.append({"kind": "ensemble", "repeat": r, "random_state": " ".join(map(str, seeds)),
                     "c_test": _c(test.y_os, ensemble.predict(test.X)), "fit_s": fit_s})
        frame = pd.DataFrame(rows).assign(cohort_seed=args.ensemble_cohort_seed, n_fit=len(X_fit),
                                          n_test=args.n_test, epochs=args.epochs, **info)
        _append(args.out, frame)
        print(f"repeat {r}: ensemble C={rows[-1]['c_test']:.3f}, members "
              + " ".join(f"{row['c_test']:.3f}" for row in rows[:-1]) + f"  {fit_s:.0f} s", flush=True)


def paired_table(results):
    """Paired differences (blending minus each other row, and minus the regime's best
    unimodal network by mean C) with 95 % t-intervals over the seeds both rows have."""
    out = []
    for regime, block in results.groupby("regime", sort=False):
        wide = block.pivot_table(index="seed", columns="model", values="c_test")
        if BLEND not in wide:
            continue
        unimodal = [m for m in (IMAGE, CLINICAL) if m in wide]
        best = max(unimodal, key=lambda m: wide[m].mean()) if unimodal else None
        for label, other in ((NO_BLEND, NO_BLEND), (UNIFORM, UNIFORM), (ONLINE, ONLINE), (BIG_BLEND, BIG_BLEND),
                             (IMAGE, IMAGE),
                             (CLINICAL, CLINICAL), (f"best unimodal ({best})", best)):
            if other is None or other not in wide:
                continue
            pair = wide[[BLEND, other]].dropna()
            mean, low, high = paired_interval(pair[BLEND] - pair[other])
            out.append({"regime": regime, "blending minus": label, "n_seeds": len(pair),
                        "mean": mean, "low": low, "high": high,
                        "C blending": pair[BLEND].mean(), "C other": pair[other].mean()})
        # the phenomenon blending exists for: naive fusion minus the best unimodal network
        if NO_BLEND in wide and best is not None:
            pair = wide[[NO_BLEND, best]].dropna()
            mean, low, high = paired_interval(pair[NO_BLEND] - pair[best])
            out.append({"regime": regime, "blending minus": f"(no blending minus {best})", "n_seeds": len(pair),
                        "mean": mean, "low": low, "high": high,
                        "C blending": np.nan, "C other": pair[best].mean()})
    return pd.DataFrame(out)


def pooled_difference_sd(results, regime="additive", models=(BLEND, NO_BLEND, UNIFORM, IMAGE)):
    """SD over seeds of the per-seed C difference between two neural models, pooled over
    every pair of ``models`` (root mean of the pairs' variances): how far apart two single
    fits of equally good models land by chance. The demo's ``NEURAL_SEED_SD``."""
    wide = results[results["regime"] == regime].pivot_table(index="seed", columns="model", values="c_test")
    models = [m for m in models if m in wide]
    variances = [(wide[a] - wide[b]).dropna().var(ddof=1) for i, a in enumerate(models) for b in models[i + 1:]]
    return float(np.sqrt(np.mean(variances))) if variances else float("nan")


def summarize_ensemble(results):
    """Mean and SD of C: single members (all repeats) and ensembles (over repeats)."""
    table = results.groupby("kind")["c_test"].agg(["mean", "std", "count"])
    print("SeedEnsemble of the MMNN (5 members) against single members, C on the fresh cohort\n"
          + table.round(4).to_string())
    spread = results[results["kind"] == "member"].groupby("repeat")["c_test"].agg(["min", "max"])
    print("members' range per repeat\n" + spread.round(3).to_string())
    return table


def summarize(path):
    results = pd.read_csv(path)
    if "kind" in results:
        return results, summarize_ensemble(results)
    means = results.groupby(["regime", "model"], sort=False)["c_test"].agg(["mean", "std", "count"])
    print("C on the fresh cohort, mean, SD over seeds, seeds\n" + means.round(3).to_string())
    table = paired_table(results)
    with pd.option_context("display.width", 200):
        print("\npaired differences, 95 % t-interval over seeds\n" + table.round(3).to_string(index=False))
    print(f"\nSD over seeds of the difference between two neural models (additive regime, pooled over "
          f"the pairs of {BLEND}, {NO_BLEND}, {UNIFORM}, {IMAGE}): {pooled_difference_sd(results):.4f}")
    return results, table


HEADS = ("multimodal", "clinical", "image")


def ratios_by_hand(history, eps=1e-2):
    """Recompute the rule from the recorded per-head losses, one row per estimation.

    Between two consecutive measurements N and N + n of a (regime, seed) online run:
    ``dG = LV_N - LV_{N+n}`` (clamped at 0), ``dO = (LV - LT)_{N+n} - (LV - LT)_N``,
    ratio ``dG / max(dO**2, eps)`` and weights proportional to it (the library's
    ``blend_eps=1e-2``); ``max_abs_diff`` compares them with the raw weights the run
    recorded at N + n (NaN when no head improved: the run kept its previous weights).
    """
    rows = []
    for (regime, seed), block in history.groupby(["regime", "seed"], sort=False):
        block = block.sort_values("epoch").reset_index(drop=True)
        for i in range(1, len(block)):
            a, b = block.iloc[i - 1], block.iloc[i]
            row = {"regime": regime, "seed": seed, "epoch": int(b["epoch"])}
            ratio = {}
            for head in HEADS:
                lt0, lv0 = a[f"blend_train_loss_{head}"], a[f"blend_heldout_loss_{head}"]
                lt1, lv1 = b[f"blend_train_loss_{head}"], b[f"blend_heldout_loss_{head}"]
                dg = max(lv0 - lv1, 0.0)
                do = (lv1 - lt1) - (lv0 - lt0)
                ratio[head] = dg / max(do**2, eps)
                row.update({f"dG_{head}": lv0 - lv1, f"dO_{head}": do, f"ratio_{head}": ratio[head]})
            total = sum(ratio.values())
            for head in HEADS:
                row[f"w_hand_{head}"] = ratio[head] / total if total > 0 else np.nan
                row[f"w_recorded_{head}"] = b[f"blend_raw_weight_{head}"]
            row["max_abs_diff"] = (max(abs(row[f"w_hand_{h}"] - row[f"w_recorded_{h}"]) for h in HEADS)
                                   if total > 0 else np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


def investigate(out):
    """Print the rule recomputed by hand, per regime, from ``<out>_history.csv``."""
    path = history_path(out)
    if not path.exists():
        print(f"no {path}")
        return None
    hand = ratios_by_hand(pd.read_csv(path))
    cols = [f"{k}_{h}" for k in ("dG", "dO", "w_hand") for h in HEADS]
    with pd.option_context("display.width", 220, "display.max_columns", 30):
        print("\nrule by hand from the recorded losses (online run of the blended MMNN), mean over seeds\n"
              + hand.groupby(["regime", "epoch"], sort=False)[cols].mean().round(3).to_string())
        print(f"largest |hand - recorded| weight: {hand['max_abs_diff'].max():.2e} "
              f"({hand['max_abs_diff'].notna().sum()} estimations)")
    return hand


def figure(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regimes = list(dict.fromkeys(table["regime"]))
    fig, axes = plt.subplots(1, len(regimes), figsize=(3.8 * len(regimes), 3.6), squeeze=False)
    for ax, regime in zip(axes[0], regimes):
        block = table[table["regime"] == regime].reset_index(drop=True)
        y = np.arange(len(block))[::-1]
        naive = block["blending minus"].str.startswith("(").to_numpy()  # no blending minus best unimodal
        for rows, color in ((~naive, "C0"), (naive, "C1")):
            mean, low, high = (block.loc[rows, k].to_numpy(dtype=float) for k in ("mean", "low", "high"))
            ax.errorbar(mean, y[rows], xerr=np.vstack([mean - low, high - mean]), fmt="o", color=color, capsize=3)
        ax.axvline(0, color="0.5", lw=0.8, ls="--")
        labels = [s.replace("MMNN ", "").replace("Survival", "").replace("(no blending minus ", "no blending - ")
                  .rstrip(")") if s.startswith("(") else "- " + s.replace("MMNN ", "").replace("Survival", "")
                  for s in block["blending minus"]]
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_title(f"{regime} ({int(block['n_seeds'].min())} seeds)", fontsize=9)
        ax.set_xlabel("C difference, 95 % CI (1000 fresh patients)", fontsize=7)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("Blue: MMNN with gradient blending minus each model. Orange: MMNN without blending minus "
                 "the best unimodal network. By simulator regime (SIMULATED)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure: {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=[*MODELS, *OPTIONAL])
    parser.add_argument("--n-train", type=int, default=287)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--test-seed", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=24, help="synthetic in-plane matrix")
    parser.add_argument("--size", type=int, default=24, help="network input cube")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--mlp-epochs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--period", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--data-dir", default=None, help="keep cohorts and caches here (reused by a rerun)")
    parser.add_argument("--out", default="blending_regimes_cpu.csv")
    parser.add_argument("--summarize", metavar="CSV", help="only summarize this CSV")
    parser.add_argument("--ensemble", action="store_true", help="item 5: SeedEnsemble of the MMNN against its members")
    parser.add_argument("--ensemble-repeats", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ensemble-cohort-seed", type=int, default=0)
    parser.add_argument("--figure", help="with --summarize: write the figure here")
    args = parser.parse_args(argv)
    if args.summarize:
        results, table = summarize(args.summarize)
        if "kind" in results:
            return
        investigate(args.summarize)
        if args.figure:
            figure(table, args.figure)
        return
    if args.ensemble:
        run_ensemble(args)
        return
    run(args)
    summarize(args.out)


if __name__ == "__main__":
    main()
