"""Training throughput of DenseNetSurvival against the bare network (issue 5 benchmark).

For each cube size, the same random batches (batch 8) are used to time

* ``DenseNetSurvival.fit`` (skorch loop, dataset and loader, augmentation, Cox loss,
  whole-set bookkeeping) over ``--epochs`` epochs without an inner validation split,
  from the per-epoch durations in its history, and
* the bare MONAI DenseNet-121 + linear head: forward, ``mean`` loss, backward and
  an SGD step on pre-built tensors.

The overhead ratio is bare samples/s divided by estimator samples/s (target <= 1.15).
Peak memory: the process's maximum resident set size on CPU (monotone, so sizes run
in increasing order) or ``torch.cuda.max_memory_allocated`` on CUDA, where 128^3 is also
timed in fp32 and bf16 autocast.

Run: ``python benchmarks/bench_densenet.py [--sizes 32 48 64] [--n-patients 32]``.
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch
from sksurv.util import Surv

from sarcoma_survival.nn import DenseNetSurvival
from sarcoma_survival.nn._modules import DenseNetRisk


def _peak_mb(device):
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_rate(X, device, epochs, batch_size, precision):
    torch.manual_seed(0)
    net = DenseNetRisk(in_channels=X.shape[1]).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    data = torch.as_tensor(X, device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if precision == "bf16" else torch.autocast(
        device, enabled=False)
    net.train()
    # one warm-up step (allocator, cudnn autotune) not timed
    with autocast:
        net(data[:batch_size]).float().mean().backward()
    opt.zero_grad()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(data), device=device)
        for i in range(0, len(data), batch_size):
            opt.zero_grad()
            with autocast:
                loss = net(data[perm[i:i + batch_size]]).float().mean()
            loss.backward()
            opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return epochs * len(data) / (time.perf_counter() - start)


def estimator_rate(X, y, device, epochs, batch_size, precision):
    model = DenseNetSurvival(max_epochs=epochs + 1, batch_size=batch_size, train_split=None,
                             device=device, precision=precision, random_state=0, lr=1e-3)
    model.fit(X, y)
    durations = model.history[1:, "dur"]  # epoch 1 is the warm-up
    return epochs * len(X) / float(np.sum(durations))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 48, 64])
    parser.add_argument("--n-patients", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    runs = [(s, "fp32") for s in args.sizes]
    if device == "cuda":
        runs += [(128, "fp32"), (128, "bf16")]
    print(f"device={device} torch_threads={torch.get_num_threads()} n={args.n_patients} "
          f"batch={args.batch_size} epochs={args.epochs}")
    print(f"{'size':>5} {'prec':>5} {'bare s/s':>9} {'estim s/s':>9} {'ratio':>6} {'peak MB':>8}")
    rng = np.random.default_rng(0)
    for size, precision in runs:
        X = rng.normal(size=(args.n_patients, 2, size, size, size)).astype(np.float32)
        y = Surv.from_arrays(rng.random(args.n_patients) < 0.5, rng.uniform(100, 2000, args.n_patients))
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        bare = bare_rate(X, device, args.epochs, args.batch_size, precision)
        estim = estimator_rate(X, y, device, args.epochs, args.batch_size, precision)
        print(f"{size:>5} {precision:>5} {bare:9.2f} {estim:9.2f} {bare / estim:6.2f} {_peak_mb(device):8.0f}",
              flush=True)


if __name__ == "__main__":
    main()
