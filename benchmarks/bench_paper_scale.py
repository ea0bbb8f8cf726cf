"""The paper's scale on one GPU: DenseNet-121 at 2x128^3, 200 epochs (issue 16 benchmark).

One command, planned to fit in 10 minutes on one GPU (``--budget-s``, default 570 s):

1. A paper-size synthetic cohort (287 patients, ``random_state=--seed``) is generated and
   preprocessed on the machine's CPU cores (``--n-jobs``) and split 70/15/15
   (:func:`~sarcoma_survival.model_selection.train_val_test_split`: 200 training, 43
   validation patients). The network input is the 2-channel ``--size`` cube (128); the
   generator's in-plane matrix is ``--image-size`` (64: the tumour crop is resampled to
   128^3 anyway, and a 128 matrix makes generation several times slower). Volumes are
   preprocessed before any timed fit, so ``fit_s`` holds reading the cache, not building it.
   The fresh test cohort (``--n-test``, ``random_state=--test-seed``) is generated and
   preprocessed in a background process (``--n-jobs`` minus 4 workers) while the GPU trains.
2. (a) Throughput: the bare :class:`~sarcoma_survival.nn.MultimodalNet` (DenseNet-121 +
   clinical MLP; forward, backward, SGD step on device-resident tensors, batch
   ``--batch-size``, bf16 autocast) against ``MMNNSurvival`` trained for
   ``--throughput-epochs`` epochs on the cohort (its first epoch, with cuDNN's autotuning,
   is not counted).
3. (b) Two full ``MMNNSurvival`` fits of ``--epochs`` (200) epochs: ``blend_refit=False``,
   then the default (refit). A fit whose duration, estimated from (a), would not end
   within the budget is skipped and says so; nothing is extrapolated.
4. (c) Peak GPU memory of each run (``torch.cuda.max_memory_allocated``).

Rows are appended to ``benchmarks/measured/paper_scale_gpu.csv`` (``--out``) with the
columns ``model,image_size,channels,epochs,n_train,batch_size,micro_batch_size,precision,
fit_s,samples_per_s,bare_samples_per_s,peak_gpu_mem_gb,c_test,device``: ``samples_per_s``
counts training sample passes per second of training-step time (from the start of each
epoch's training loop to its last training step, epoch 1 excluded; validation, blending
and baseline inference are not in it); ``c_test`` is Harrell's C of OS on the fresh
cohort, empty when it was not ready in time. The script refuses to append rows measured
without CUDA to that file.

Run (one GPU, 16 CPU cores)::

    python benchmarks/bench_paper_scale.py

Smoke run on CPU (tiny cube, compact net, 2 epochs; rows go to a temporary CSV)::

    python benchmarks/bench_paper_scale.py --smoke

The study of issue 16 (MMNN with gradient blending, without it, with uniform weights,
DenseNetSurvival and ClinicalMLPSurvival; 200 epochs at 2x128^3; scored on 1000 fresh
patients, C and Spearman with the true risk) is ``bench_mmnn.py`` at this scale, one seed
per command (each about as long as the fits above times five)::

    python benchmarks/bench_paper_scale.py --study --seeds 0

which runs ``bench_mmnn.py --seeds 0 --image-size 64 --size 128 --no-n4 --normalize tumor
--epochs 200 --no-radiomics --n-jobs 16 --threads 4 --models "MMNN (gradient blending)"
"MMNN (no blending)" "MMNN (uniform weights)" DenseNetSurvival ClinicalMLPSurvival --out
benchmarks/measured/paper_scale_study_gpu_seed<S>.csv``.
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch
from skorch.callbacks import Callback

from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import concordance_index
from sarcoma_survival.model_selection import train_val_test_split
from sarcoma_survival.nn import MMNNSurvival
from sarcoma_survival.nn._mmnn_module import MultimodalNet
from sarcoma_survival.preprocessing import VolumePreprocessor

COLUMNS = ["model", "image_size", "channels", "epochs", "n_train", "batch_size", "micro_batch_size",
           "precision", "fit_s", "samples_per_s", "bare_samples_per_s", "peak_gpu_mem_gb", "c_test", "device"]
GPU_CSV = Path(__file__).resolve().parent / "measured" / "paper_scale_gpu.csv"
COMPACT_NET = {"module__init_features": 8, "module__growth_rate": 4, "module__block_config": (1, 1)}
STUDY_MODELS = ["MMNN (gradient blending)", "MMNN (no blending)", "MMNN (uniform weights)", "DenseNetSurvival",
                "ClinicalMLPSurvival"]


class TrainStepTimer(Callback):
    """Seconds and samples of the training loops of epochs 2, 3, ... (see the module docstring)."""

    def on_train_begin(self, net, **kwargs):
        self.seconds_, self.samples_, self._epoch = 0.0, 0, 0

    def on_epoch_begin(self, net, **kwargs):
        self._epoch += 1
        self._start, self._last, self._n = time.perf_counter(), None, 0

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:  # skorch has read the loss (.item()) by now: the step is done on the GPU
            self._last = time.perf_counter()
            self._n += len(batch[1])

    def on_epoch_end(self, net, **kwargs):
        if self._epoch > 1 and self._last is not None:
            self.seconds_ += self._last - self._start
            self.samples_ += self._n

    def rate(self):
        return self.samples_ / self.seconds_ if self.seconds_ > 0 else float("nan")


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def bare_rate(n_clinical, channels, size, batch_size, device, precision, steps, net_kwargs):
    """Forward + backward + SGD step of the bare network per second on device tensors."""
    torch.manual_seed(0)
    kwargs = {k.removeprefix("module__"): v for k, v in net_kwargs.items()}
    net = MultimodalNet(n_clinical, in_channels=channels, **kwargs).to(device)
    clinical = torch.randn(batch_size, n_clinical, device=device)
    image = torch.randn(batch_size, channels, size, size, size, device=device)
    if device == "cuda":
        net = net.to(memory_format=torch.channels_last_3d)
        image = image.contiguous(memory_format=torch.channels_last_3d)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if precision == "bf16"
                else torch.autocast("cpu", enabled=False))
    net.train()

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = sum(head.float().mean() for head in net(clinical, image))
        loss.backward()
        opt.step()

    for _ in range(3):  # allocator, cuDNN autotuning
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * batch_size / (time.perf_counter() - start)


def _make_test(n, image_size, seed, folder, preprocessor_params, n_jobs):
    """Background job: generate and preprocess the fresh test cohort (fills the cache)."""
    cohort = make_synthetic_cohort(n, image_size=image_size, random_state=seed, data_dir=folder, n_jobs=n_jobs)
    VolumePreprocessor(**preprocessor_params).fit_transform(cohort.X)
    return time.perf_counter()


def append_rows(rows, out, device):
    out = Path(out)
    if device != "cuda" and out.resolve() == GPU_CSV:
        raise SystemExit(f"refusing to write rows measured on {device} into {GPU_CSV} (GPU figures only)")
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    with out.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def run(args):
    clock = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    precision = "bf16" if device == "cuda" else "fp32"
    append_rows([], args.out, device)  # refuses CPU rows in the GPU file before any work
    torch.set_num_threads(args.threads)
    net_kwargs = COMPACT_NET if args.compact_net else {}
    folder = Path(args.data_dir or tempfile.mkdtemp(prefix="paper_scale_"))
    prep = dict(size=args.size, n4=False, normalize="tumor", cache_dir=str(folder / "cache"), n_jobs=args.n_jobs)

    t = time.perf_counter()
    cohort = make_synthetic_cohort(args.n_patients, image_size=args.image_size, random_state=args.seed,
                                   data_dir=folder / "train", n_jobs=args.n_jobs)
    X_tr, X_val, _, y_tr, y_val, _ = train_val_test_split(cohort.X, cohort.y_os, random_state=args.seed)
    volumes = VolumePreprocessor(**prep)
    volumes.fit_transform(X_tr)
    volumes.transform(X_val)
    print(f"device={device} precision={precision}; {len(X_tr)} training + {len(X_val)} validation patients "
          f"generated and preprocessed to 2x{args.size}^3 in {time.perf_counter() - t:.0f} s", flush=True)

    pool = None
    test_job = None
    if args.n_test > 0:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        # fewer processes than cores: the training loop keeps its own cores
        test_job = pool.submit(_make_test, args.n_test, args.image_size, args.test_seed, folder / "test",
                               {**prep, "n_jobs": max(1, args.n_jobs - 4)}, max(1, args.n_jobs - 4))

    base = dict(preprocessor=VolumePreprocessor(**prep), batch_size=args.batch_size, random_state=args.seed,
                micro_batch_size=args.micro_batch_size, precision="auto", verbose=0, **net_kwargs)
    common = {"model": None, "image_size": args.size, "channels": 2, "n_train": len(X_tr),
              "batch_size": args.batch_size, "micro_batch_size": args.micro_batch_size or "",
              "precision": precision, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu"}

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    timer = TrainStepTimer()
    t = time.perf_counter()
    probe = MMNNSurvival(max_epochs=args.throughput_epochs, gradient_blending=False, blend_refit=False,
                         callbacks=[("train_step_timer", timer)], **base).fit(
            X_tr, y_tr, validation_data=(X_val, y_val))
    probe_s = time.perf_counter() - t
    n_clinical = probe.n_encoded_features_
    estimator_rate = timer.rate()
    bare = bare_rate(n_clinical, 2, args.size, args.batch_size, device, precision, args.bare_steps, net_kwargs)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else ""
    print(f"(a) bare {bare:.1f} samples/s, estimator {estimator_rate:.1f} samples/s "
          f"(ratio {estimator_rate / bare:.2f}); peak {peak} GB", flush=True)
    rows = [{**common, "model": f"MMNNSurvival (throughput, {args.throughput_epochs} epochs)",
             "epochs": args.throughput_epochs, "fit_s": round(probe_s, 2), "samples_per_s": round(estimator_rate, 2),
             "bare_samples_per_s": round(bare, 2), "peak_gpu_mem_gb": round(peak, 2) if peak != "" else "",
             "c_test": "", "device": common["device"]}]
    append_rows(rows, args.out, device)
    del probe

    fitted = []
    for name, refit in (("MMNNSurvival (no refit)", False), ("MMNNSurvival", True)):
        # training steps at the measured rate, plus a fifth for validation and blending passes
        estimate = 1.2 * args.epochs * len(X_tr) / estimator_rate * (2.0 if refit else 1.0)
        left = args.budget_s - (time.perf_counter() - clock)
        if estimate > left:
            print(f"(b) {name}: skipped, estimated {estimate:.0f} s > {left:.0f} s left of the budget", flush=True)
            continue
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        timer = TrainStepTimer()
        model = MMNNSurvival(max_epochs=args.epochs, blend_refit=refit, callbacks=[("train_step_timer", timer)],
                             **base)
        t = time.perf_counter()
        model.fit(X_tr, y_tr, validation_data=(X_val, y_val))
        fit_s = time.perf_counter() - t
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else ""
        row = {**common, "model": name, "epochs": args.epochs, "fit_s": round(fit_s, 2),
               "samples_per_s": round(timer.rate(), 2), "bare_samples_per_s": round(bare, 2),
               "peak_gpu_mem_gb": round(peak, 2) if peak != "" else "", "c_test": ""}
        print(f"(b) {name}: fit {fit_s:.1f} s, {timer.rate():.1f} samples/s, peak {peak} GB", flush=True)
        fitted.append((model, row))

    if test_job is not None:
        left = args.budget_s - (time.perf_counter() - clock)
        try:
            test_job.result(timeout=max(1.0, left))
            test = make_synthetic_cohort(args.n_test, image_size=args.image_size, random_state=args.test_seed,
                                         data_dir=folder / "test")
            for model, row in fitted:
                row["c_test"] = round(float(concordance_index(test.y_os, model.predict(test.X))), 4)
                print(f"    {row['model']}: C = {row['c_test']} on {args.n_test} fresh patients", flush=True)
        except TimeoutError:
            print("test cohort not ready within the budget: c_test left empty", flush=True)
        pool.shutdown(wait=False, cancel_futures=True)
    append_rows([row for _, row in fitted], args.out, device)
    print(f"rows appended to {args.out}; {time.perf_counter() - clock:.0f} s in all")


def study(args):
    import subprocess

    script = Path(__file__).resolve().parent / "bench_mmnn.py"
    for seed in args.seeds:
        out = Path(__file__).resolve().parent / "measured" / f"paper_scale_study_gpu_seed{seed}.csv"
        command = [sys.executable, str(script), "--seeds", str(seed), "--image-size", str(args.image_size),
                   "--size", str(args.size), "--no-n4", "--normalize", "tumor", "--epochs", str(args.epochs),
                   "--no-radiomics", "--n-jobs", str(args.n_jobs), "--threads", str(args.threads),
                   "--n-test", str(args.n_test), "--test-seed", str(args.test_seed),
                   "--models", *STUDY_MODELS, "--out", str(out)]
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        print(" ".join(command), flush=True)
        subprocess.run(command, check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="training cohort and estimators")
    parser.add_argument("--n-patients", type=int, default=287, help="cohort before the 70/15/15 split")
    parser.add_argument("--image-size", type=int, default=64, help="generator's in-plane matrix")
    parser.add_argument("--size", type=int, default=128, help="network input cube side")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--micro-batch-size", type=int, default=None)
    parser.add_argument("--throughput-epochs", type=int, default=4)
    parser.add_argument("--bare-steps", type=int, default=50)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--test-seed", type=int, default=1000)
    parser.add_argument("--budget-s", type=float, default=570.0, help="skip fits estimated to end later")
    parser.add_argument("--n-jobs", type=int, default=16, help="CPU processes for generation and preprocessing")
    parser.add_argument("--threads", type=int, default=4, help="torch CPU threads")
    parser.add_argument("--compact-net", action="store_true", help="a 2-block DenseNet instead of DenseNet-121")
    parser.add_argument("--cpu", action="store_true", help="run on CPU even when CUDA is available")
    parser.add_argument("--data-dir", default=None, help="keep cohorts and caches here (default: a temp folder)")
    parser.add_argument("--out", default=str(GPU_CSV))
    parser.add_argument("--smoke", action="store_true",
                        help="CPU smoke run: 40 patients, 16^3, compact net, 2 epochs, rows to a temporary CSV")
    parser.add_argument("--study", action="store_true", help="the 5-model study through bench_mmnn.py")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of --study")
    args = parser.parse_args(argv)
    if args.smoke:
        args.cpu, args.compact_net = True, True
        args.n_patients, args.image_size, args.size, args.epochs = 40, 16, 16, 2
        args.throughput_epochs, args.bare_steps, args.n_test, args.n_jobs, args.threads = 2, 3, 60, 2, 2
        if args.out == str(GPU_CSV):
            args.out = str(Path(tempfile.mkdtemp(prefix="paper_scale_smoke_")) / "paper_scale_smoke.csv")
    if args.study:
        study(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
