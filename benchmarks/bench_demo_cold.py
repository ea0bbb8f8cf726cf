"""Benchmark: the README demo run cold, step by step.

Runs ``run_demo`` (the code behind ``sarcoma-survival demo``) in a fresh Python process whose
``SARCOMA_SURVIVAL_CACHE`` and ``SARCOMA_SURVIVAL_DATA`` point into a new temporary folder, so
the synthetic images, preprocessed volumes and radiomics features are all made from scratch
(not counting the set-up of ``.venv``). Writes one CSV row per step of the demo's time line
(cohorts, each model and outcome, "DM both ways", "tables and figures", "total") to
``--output``, with the run's number, demo options, the float-kernel variables in force
(``ONEDNN_MAX_CPU_ISA``...; "default" when none), the kernels torch dispatched to and the load
averages before and after; ``#`` lines give the CPU model, its widest vector set, the cores and
the package versions. ``--append`` adds a run to an existing file. Prints the same figures.

An AVX-512 CPU runs the kernels of an AVX2-only one with
``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2`` set before the command (the demo's
worker processes inherit them). That emulates the instruction set only: an AVX2-only CPU of
the same machine kind was measured 2-3x slower on the image networks, this emulation about
1.4x (compact DenseNet step at 32^3, one thread).

The machine must be quiet for the figures to mean anything: the script refuses to start when
the 1-minute load average is above ``--max-load`` (default 3) unless ``--force`` is given.
Every number is from simulated data.

Run: ``python benchmarks/bench_demo_cold.py`` (the default demo, several minutes) or, as a
smoke test, ``python benchmarks/bench_demo_cold.py --output /tmp/cold.csv --force --
--n-patients 30 --n-test 40 --image-size 12 --models sarculator-coxph``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import KERNEL_VARIABLES, machine

ROOT = Path(__file__).resolve().parent.parent

# Runs in the child process: the demo's keyword arguments come as JSON in argv[1].
CHILD = """
import json, sys
from sarcoma_survival._demo import run_demo
run = run_demo(**json.loads(sys.argv[1]))
print("TIMELINE " + json.dumps(run.timeline))
"""

# CLI-style options of the demo accepted after "--", mapped to run_demo's keywords.
DEMO_OPTIONS = {"--n-patients": ("n_patients", int), "--n-test": ("n_test", int),
                "--image-size": ("image_size", int), "--max-epochs": ("max_epochs", int),
                "--n-jobs": ("n_jobs", int), "--random-state": ("random_state", int),
                "--models": ("models", lambda v: v.split(",")), "--net": ("net", str)}


def demo_kwargs(extra):
    """run_demo keywords from ``--option value`` pairs (the demo CLI's names)."""
    if len(extra) % 2:
        raise SystemExit(f"demo options come in pairs, got {extra}")
    kwargs = {}
    for option, value in zip(extra[::2], extra[1::2]):
        if option not in DEMO_OPTIONS:
            raise SystemExit(f"unknown demo option {option!r}; known: {', '.join(DEMO_OPTIONS)}")
        name, convert = DEMO_OPTIONS[option]
        kwargs[name] = convert(value)
    return kwargs


def _rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def versions():
    from importlib.metadata import version

    names = ("sarcoma-survival", "torch", "scikit-learn", "scikit-survival", "pyradiomics",
             "pyradiomics-bhklab")
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing package is reported, not fatal
            found[name] = "absent"
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "measured" / "demo_cold_cpu.csv")
    parser.add_argument("--max-load", type=float, default=3.0)
    parser.add_argument("--force", action="store_true", help="run even on a loaded machine")
    parser.add_argument("--append", action="store_true",
                        help="add this run's rows to --output (run numbered after its last one)")
    parser.add_argument("demo", nargs=argparse.REMAINDER, help="-- then demo options (--n-patients 30 ...)")
    args = parser.parse_args(argv)
    extra = args.demo[1:] if args.demo[:1] == ["--"] else args.demo
    kwargs = demo_kwargs(extra)
    load_before = os.getloadavg()
    if load_before[0] > args.max_load and not args.force:
        raise SystemExit(f"load average {load_before[0]:.1f} > {args.max_load}: the timings would "
                         "measure the other jobs; rerun on a quiet machine or pass --force")
    with tempfile.TemporaryDirectory(prefix="demo_cold_") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, SARCOMA_SURVIVAL_CACHE=str(tmp / "cache"),
                   SARCOMA_SURVIVAL_DATA=str(tmp / "data"), MPLBACKEND="Agg")
        kwargs.setdefault("output", str(tmp / "run"))
        kwargs.setdefault("verbose", True)
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(kwargs)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
        sys.stdout.write(done.stdout)
        if done.returncode:
            raise SystemExit(f"the demo failed (exit {done.returncode})")
    line = next(x for x in done.stdout.splitlines() if x.startswith("TIMELINE "))
    timeline = json.loads(line.removeprefix("TIMELINE "))
    load_after = os.getloadavg()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    info = machine()
    kernels = " ".join(f"{k}={info[k]}" for k in KERNEL_VARIABLES if k in info) or "default"
    append = args.append and args.output.exists()
    run = 1 + max((int(r["run"]) for r in _rows(args.output)), default=0) if append else 1
    with open(args.output, "a" if append else "w", newline="", encoding="utf-8") as handle:
        if not append:
            handle.write("# bench_demo_cold.py: the README demo run cold, step by step; simulated data\n")
            handle.write(f"# cores {os.cpu_count()}; python {platform.python_version()}; "
                         + ", ".join(f"{k} {v}" for k, v in versions().items()) + "\n")
            handle.write(f"# cpu {info['cpu']}; widest vector set {info['isa']}\n")
        writer = csv.writer(handle)
        if not append:
            writer.writerow(["run", "demo_options", "kernel_variables", "torch_kernels",
                             "load_before", "load_after", "step", "seconds"])
        for step, seconds in timeline.items():
            writer.writerow([run, " ".join(extra) or "default", kernels, info.get("torch_kernels", ""),
                             f"{load_before[0]:.2f}", f"{load_after[0]:.2f}", step, f"{seconds:.1f}"])
    print(f"\ncold demo on {os.cpu_count()} cores (load {load_before[0]:.1f} -> {load_after[0]:.1f}):")
    for step, seconds in timeline.items():
        print(f"  {step:45s} {seconds:7.1f} s")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
