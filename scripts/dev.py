#!/usr/bin/env python3
"""One-command set-up and run for a fresh clone (Python >= 3.11, no GPU needed).

Usage::

    python3 scripts/dev.py demo [demo options]   # build .venv if needed, run the synthetic demo
    python3 scripts/dev.py test [pytest options]  # build .venv if needed, run the test suite
    python3 scripts/dev.py docs                   # build .venv if needed, build the Sphinx site
    python3 scripts/dev.py lint [ruff options]    # build .venv if needed, run ruff (pyproject.toml)
    python3 scripts/dev.py setup                  # only build / update .venv

The virtual environment lives in ``.venv`` at the repository root and is rebuilt only when
``pyproject.toml`` or ``constraints-dev.txt`` change (a hash stamp is kept inside it).
PyRadiomics comes from its maintained fork ``pyradiomics-bhklab`` (it imports as ``radiomics``
and builds under pip's build isolation, which PyRadiomics 3.0.1 does not on Python 3.11); an
environment made before the switch has PyRadiomics 3.0.1 removed first, because both
distributions own the same ``radiomics`` package directory. torch is pinned to its CPU build
through ``constraints-dev.txt``.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("SARCOMA_SURVIVAL_VENV", ROOT / ".venv"))
CONSTRAINTS = ROOT / "constraints-dev.txt"
STAMP = VENV / ".sarcoma-survival-stamp"


def _python() -> Path:
    return VENV / "bin" / "python"


def _run(*args: str | os.PathLike) -> None:
    print("+", " ".join(map(str, args)), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints-dev.txt"):
        digest.update((ROOT / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _installed(distribution: str) -> bool:
    """Whether ``distribution`` is installed in ``.venv`` (by its metadata, not by import name)."""
    probe = (f"import importlib.metadata as m\ntry: m.distribution({distribution!r})\n"
             "except m.PackageNotFoundError: raise SystemExit(1)")
    return subprocess.run([str(_python()), "-c", probe], cwd=ROOT).returncode == 0


def setup() -> None:
    """Create ``.venv`` and install the package with its test, docs and lint extras."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs under any python3
        sys.exit(f"sarcoma_survival needs Python >= 3.11, this is {sys.version.split()[0]}")
    wanted = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted and _python().exists():
        return
    if not _python().exists():
        print(f"Creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if _installed("pyradiomics"):
        # 3.0.1 and the fork own the same files: remove both, then the fork alone is installed
        _run(_python(), "-m", "pip", "uninstall", "--disable-pip-version-check", "-y",
             "pyradiomics", "pyradiomics-bhklab")
    pip = (_python(), "-m", "pip", "install", "--disable-pip-version-check", "-c", CONSTRAINTS)
    _run(*pip, "-e", f"{ROOT}[dev]")
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    setup()
    env = dict(os.environ, MPLBACKEND=os.environ.get("MPLBACKEND", "Agg"))
    if command == "setup":
        return 0
    if command == "demo":
        cmd = [str(VENV / "bin" / "sarcoma-survival"), "demo", *rest]
    elif command == "test":
        cmd = [str(_python()), "-m", "pytest", *rest]
    elif command == "lint":
        cmd = [str(VENV / "bin" / "ruff"), "check", ".", *rest]
    elif command == "docs":
        cmd = [str(_python()), "-m", "sphinx", "-W", "--keep-going", "-b", "html",
               "docs", str(ROOT / "docs" / "_build" / "html"), *rest]
    else:
        print(f"unknown command {command!r}; use demo, test, docs, lint or setup", file=sys.stderr)
        return 2
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
