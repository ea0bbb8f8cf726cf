"""Benchmark: CPU seconds of ``sarcoma-survival`` commands for a clinical model, before and after a change.

Runs each command in a fresh Python process, once with the package of the working tree and once
with the package as it was at ``--before`` (by default the commit where this branch left
``main``), extracted with ``git archive`` into a temporary folder and put first on
``PYTHONPATH``. The two versions alternate, ``--repeats`` times, so that a change of load on the
machine falls on both. The commands, on a generated 35-patient clinical cohort (no images):

* ``--help``;
* ``fit cohort.csv --model sarculator-coxph`` (the issue's 35-patient Cox model);
* ``evaluate cohort.csv --model-file <that model>``.

CPU seconds (user + system of the child, ``resource.getrusage(RUSAGE_CHILDREN)``) are the
figure to compare on a shared machine; wall seconds are recorded too but depend on the load.
Each row also says whether the process had imported torch when it ended.

Writes ``--output`` (default ``benchmarks/measured/cli_startup_cpu.csv``): ``#`` header lines
(machine, load averages, the two versions), then ``version,command,repeat,cpu_s,wall_s,torch,status``.
Prints the median CPU seconds of each version and command.

Run: ``python benchmarks/bench_cli_startup.py --repeats 5``.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine_line

ROOT = Path(__file__).resolve().parent.parent

# The child: the command line's main(), and one line on stderr saying whether torch was imported.
# An editable install's finder would import the working tree whatever PYTHONPATH says: it is
# taken out, so that both versions are imported from PYTHONPATH by the ordinary path finder.
UNEDITABLE = ("import sys\n"
              "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]\n")
CHILD = (UNEDITABLE + "import atexit\n"
         "atexit.register(lambda: print('TORCH_IMPORTED', 'torch' in sys.modules, file=sys.stderr))\n"
         "from sarcoma_survival.cli import main\n"
         "sys.exit(main())\n")


def _git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def _extract(rev, folder):
    """The package as it was at ``rev``, in ``folder``."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev, "sarcoma_survival"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _cohort(path, n=35, seed=0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(n)],
        "age": rng.uniform(30, 80, n).round(1), "sex": rng.choice(["F", "M"], n),
        "tumor_size_cm": rng.uniform(2, 20, n).round(1), "tumor_depth": rng.choice(["deep", "superficial"], n),
        "grade": rng.choice(["low", "high"], n), "histology": rng.choice(["liposarcoma", "leiomyosarcoma"], n),
        "location": rng.choice(["axial", "lower_extremity", "upper_extremity"], n),
        "tumor_volume_cm3": rng.uniform(10, 500, n).round(1), "neoadjuvant_chemo": rng.choice([0, 1], n),
        "mets_at_presentation": 0, "rt_timing": rng.choice(["preop", "postop"], n),
        "os_event": rng.choice([0, 1], n), "os_time": rng.uniform(30, 3000, n).round(),
    }).to_csv(path, index=False)
    return path


def _run(source, argv, workdir):
    """(cpu seconds, wall seconds, torch imported, exit status) of one command in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{source}: {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    torch = "TORCH_IMPORTED True" in proc.stderr
    return cpu, wall, torch, proc.returncode


def _package_root(source, workdir):
    """Check that ``source`` is the package the child imports in ``workdir`` (not the installed one)."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    probe = UNEDITABLE + "import sarcoma_survival; print(sarcoma_survival.__file__)"
    found = subprocess.run([sys.executable, "-c", probe], cwd=workdir,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(Path(source).resolve()):
        raise SystemExit(f"PYTHONPATH={source} imports {found}, not the package to measure")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=None,
                        help="git revision of the 'before' version (default: merge-base of HEAD and main)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "measured" / "cli_startup_cpu.csv"))
    args = parser.parse_args(argv)
    before_rev = args.before or _git("merge-base", "HEAD", "main")
    after_label = f"working tree on {_git('rev-parse', '--short', 'HEAD')}"
    if _git("status", "--porcelain", "sarcoma_survival"):
        after_label += " (with uncommitted changes)"

    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        tmp = Path(tmp)
        old = _extract(before_rev, tmp / "before")
        sources = {"before": old, "after": ROOT}
        work = tmp / "work"
        work.mkdir()
        for source in sources.values():
            _package_root(source, work)
        _cohort(work / "cohort.csv")
        for version, source in sources.items():  # a model file of each version for evaluate (not timed)
            _run(source, ["fit", "cohort.csv", "--model", "sarculator-coxph", "--output", f"{version}.ssm"], work)
        for repeat in range(args.repeats):
            for version, source in sources.items():
                commands = {
                    "--help": ["--help"],
                    "fit sarculator-coxph": ["fit", "cohort.csv", "--model", "sarculator-coxph",
                                             "--output", f"{version}-{repeat}.ssm"],
                    "evaluate sarculator-coxph": ["evaluate", "cohort.csv", "--model-file", f"{version}.ssm"],
                }
                for command, command_argv in commands.items():
                    cpu, wall, torch, status = _run(source, command_argv, work)
                    rows.append({"version": version, "command": command, "repeat": repeat, "cpu_s": round(cpu, 3),
                                 "wall_s": round(wall, 3), "torch": torch, "status": status})
                    print(f"{version:6s} {command:26s} repeat {repeat}: {cpu:6.2f} CPU s, {wall:6.2f} wall s, "
                          f"torch {'imported' if torch else 'not imported'}", flush=True)
    load_after = os.getloadavg()

    output = Path(args.output)
    with open(output, "w", newline="", encoding="utf-8") as handle:
        handle.write(f"# {machine_line()}; cores {os.cpu_count()}\n")
        handle.write(f"# load average (1, 5, 15 min) before {load_before}, after {load_after}\n")
        handle.write(f"# before: sarcoma_survival at {before_rev[:12]}; after: {after_label}\n")
        handle.write(f"# python {sys.version.split()[0]}; 35-patient clinical cohort, no images; "
                     f"{args.repeats} repeats, versions alternating\n")
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {output}")
    for command in dict.fromkeys(r["command"] for r in rows):
        line = []
        for version in ("before", "after"):
            cpu = [r["cpu_s"] for r in rows if r["version"] == version and r["command"] == command]
            line.append(f"{version} {statistics.median(cpu):.2f}")
        print(f"median CPU s, {command}: " + ", ".join(line))


if __name__ == "__main__":
    main()
