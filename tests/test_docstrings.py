"""Documentation contract of the public API.

* every public class and function (the ``__all__`` of each public module) has a numpydoc
  docstring with a summary, its parameters, a Returns (or Yields) section where it returns
  something, and an ``Examples`` section with at least one ``>>>`` line;
* the public methods of those classes (``fit``, ``predict``, ``transform``... and the new
  ones) have a docstring that documents their parameters and what they return;
* every ``Examples`` section runs as a doctest, in a fresh namespace (an example imports
  what it uses, as a reader copying it would have to), with warnings as errors;
* every public name is listed in the API reference (``docs/api.rst``), and every name listed
  there exists;
* the Sphinx site builds with warnings as errors (gallery not executed: that is the docs build's
  own job, ``python3 scripts/dev.py docs``).

Nothing is skipped: a public name without a docstring fails.
"""
from __future__ import annotations

import doctest
import importlib
import inspect
import io
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpydoc.validate
import pytest

import sarcoma_survival

ROOT = Path(__file__).resolve().parent.parent
API_RST = ROOT / "docs" / "api.rst"

# Public modules of the API reference (docs/api.rst); any other module of the package whose dotted
# name has no leading-underscore part and that defines ``__all__`` is public too.
REQUIRED_MODULES = (
    "sarcoma_survival",
    "sarcoma_survival.datasets",
    "sarcoma_survival.metrics",
    "sarcoma_survival.model_selection",
    "sarcoma_survival.nn",
    "sarcoma_survival.preprocessing",
    "sarcoma_survival.radiomics",
)

# numpydoc checks for missing content. Style-only checks (line lengths, full stops, See Also,
# extended summaries) are left to review.
OBJECT_CHECKS = {"GL08", "SS01", "PR01", "PR02", "PR10", "RT01", "YD01", "EX01"}
METHOD_CHECKS = {"GL08", "SS01", "PR01", "PR02", "PR10", "RT01", "YD01"}
# Warnings and exceptions are raised, not called: their constructor takes the message only.
EXCEPTION_CHECKS = {"GL08", "SS01"}

# Methods of the estimator contract, checked on every class that defines them. Other methods
# that override a base class of a third-party framework (skorch's ``initialize``, ``get_loss``,
# ``infer``... hooks) are implementation details of that integration and are not checked.
API_METHODS = {
    "fit", "predict", "score", "transform", "fit_transform", "inverse_transform",
    "predict_survival_function", "predict_cumulative_hazard_function",
    "get_feature_names_out", "partial_fit",
}


def _is_public_module_name(name):
    return not any(part.startswith("_") for part in name.split("."))


def _public_modules():
    names = set(REQUIRED_MODULES)
    for info in pkgutil.walk_packages(sarcoma_survival.__path__, "sarcoma_survival."):
        if not _is_public_module_name(info.name):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            names.add(info.name)
    return sorted(names)


PUBLIC_MODULES = _public_modules()


def _public_objects():
    """``{canonical dotted name: object}``, one entry per object.

    A name re-exported by the top-level package is documented there
    (``sarcoma_survival.SarculatorRSF``), like the API reference does.
    """
    by_id = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            dotted = f"{module_name}.{name}"
            current = by_id.get(id(obj))
            if current is None or dotted.count(".") < current[0].count("."):
                by_id[id(obj)] = (dotted, obj)
    return dict(sorted(by_id.values()))


PUBLIC_OBJECTS = _public_objects()
PUBLIC_CALLABLES = {
    name: obj for name, obj in PUBLIC_OBJECTS.items()
    if inspect.isclass(obj) or inspect.isfunction(obj) or callable(obj)
}


def _defined_here(obj):
    return getattr(obj, "__module__", "").split(".")[0] == "sarcoma_survival"


def _framework_methods(cls):
    """Public names of the third-party base classes of ``cls`` (not ``object``)."""
    names = set()
    for base in cls.__mro__[1:]:
        if base is object or _defined_here(base):
            continue
        names.update(n for n in vars(base) if not n.startswith("_"))
    return names


def _public_methods():
    methods = {}
    for name, cls in PUBLIC_CALLABLES.items():
        if not inspect.isclass(cls) or issubclass(cls, BaseException):
            continue
        framework = _framework_methods(cls)
        for attr in sorted(dir(cls)):
            if attr.startswith("_"):
                continue
            member = inspect.getattr_static(cls, attr)
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if not inspect.isfunction(member) or not _defined_here(member):
                continue
            if attr in framework and attr not in API_METHODS:
                continue
            methods[f"{name}.{attr}"] = member
    return methods


PUBLIC_METHODS = _public_methods()


def _numpydoc_errors(dotted_name, checks):
    result = numpydoc.validate.validate(dotted_name)
    return [f"{code}: {message}" for code, message in result["errors"] if code in checks]


def test_required_public_modules_define_all():
    missing = [
        name for name in REQUIRED_MODULES
        if not hasattr(importlib.import_module(name), "__all__")
    ]
    assert not missing, f"public modules without __all__: {missing}"


def test_public_api_is_not_empty():
    # Guards the parametrised tests below against collecting nothing.
    assert len(PUBLIC_CALLABLES) >= 10


@pytest.mark.parametrize("name", sorted(PUBLIC_CALLABLES))
def test_public_object_docstring(name):
    obj = PUBLIC_CALLABLES[name]
    checks = EXCEPTION_CHECKS if inspect.isclass(obj) and issubclass(obj, BaseException) else OBJECT_CHECKS
    errors = _numpydoc_errors(name, checks)
    assert not errors, f"{name}:\n  " + "\n  ".join(errors)


@pytest.mark.parametrize("name", sorted(PUBLIC_METHODS))
def test_public_method_docstring(name):
    errors = _numpydoc_errors(name, METHOD_CHECKS)
    assert not errors, f"{name}:\n  " + "\n  ".join(errors)


def _doctests(name, obj):
    """Doctests of ``obj`` and, for a class, of its methods defined in this package.

    Methods inherited from a private base class of the package are included (DocTestFinder
    alone only looks at the class's own ``__dict__``).
    """
    finder = doctest.DocTestFinder(recurse=True, exclude_empty=True)
    owners = [obj]
    if inspect.isclass(obj):
        owners += [base for base in obj.__mro__[1:] if _defined_here(base)]
    tests, seen = [], set()
    for owner in owners:
        owner_name = name if owner is obj else f"{owner.__module__}.{owner.__qualname__}"
        # globs={}: an example must import what it uses, like a reader copying it.
        for test in finder.find(owner, owner_name, globs={}):
            key = (test.filename, test.lineno, test.docstring)
            if key not in seen and test.examples:
                seen.add(key)
                tests.append(test)
    return tests


@pytest.mark.parametrize(
    "name",
    sorted(n for n, o in PUBLIC_CALLABLES.items()
           if not (inspect.isclass(o) and issubclass(o, BaseException))),
)
def test_examples_run(name, tmp_path, monkeypatch):
    obj = PUBLIC_CALLABLES[name]
    tests = _doctests(name, obj)
    own = [t for t in tests if t.name == name]
    assert own and own[0].examples, f"{name}: the Examples section has no '>>>' example"
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    report = io.StringIO()
    for test in tests:
        runner.run(test, out=report.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} example(s) failed\n{report.getvalue()}"


def _api_rst_entries():
    """``[(module, name)]`` of every autosummary entry of docs/api.rst."""
    entries, module, in_autosummary = [], None, False
    for line in API_RST.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith(".. currentmodule::"):
            module = stripped.split("::", 1)[1].strip()
            in_autosummary = False
        elif stripped.startswith(".. autosummary::"):
            in_autosummary = True
        elif in_autosummary:
            if stripped.startswith(".. "):
                in_autosummary = False
            elif stripped and not stripped.startswith(":") and line.startswith("   "):
                entries.append((module, stripped.lstrip("~")))
            elif stripped and not line.startswith(" "):
                in_autosummary = False
    return entries


def _resolve(module_name, dotted):
    obj = importlib.import_module(module_name)
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_api_reference_lists_every_public_name():
    entries = _api_rst_entries()
    assert entries, "no autosummary entries found in docs/api.rst"
    documented, unknown = set(), []
    for module_name, name in entries:
        try:
            documented.add(id(_resolve(module_name, name)))
        except (ImportError, AttributeError):
            unknown.append(f"{module_name}.{name}")
    assert not unknown, f"docs/api.rst lists names that do not exist: {unknown}"
    missing = [name for name, obj in PUBLIC_OBJECTS.items() if id(obj) not in documented]
    assert not missing, f"public names missing from docs/api.rst: {missing}"


def test_sphinx_build(tmp_path):
    """The site builds with warnings as errors (gallery examples not executed here)."""
    env = dict(os.environ, SARCOMA_SURVIVAL_DOCS_GALLERY="0", MPLBACKEND="Agg")
    env.pop("SARCOMA_SURVIVAL_DOCS_INTERSPHINX", None)
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html",
           "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stderr[-6000:]}"
