"""The package's layers (docs/architecture.rst): who may import whom.

Every ``import`` statement of ``sarcoma_survival`` (module level and inside functions) is read
with :mod:`ast` and checked against two rules:

* a module imports another part of the package only through that part's public modules:
  never ``from ..nn._loss import ...`` from outside ``nn`` (a subpackage's underscore
  modules are its own), and outside the entry points (``_registry``, ``_demo``, ``cli``,
  which wire the package together) never an underscore name such as
  ``from .compare import _fit_and_score``;
* a part imports only parts of a lower layer (the table below, the same as the
  Architecture page), so there is no cycle and no hidden dependency of, say, the metrics
  on the neural networks.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "sarcoma_survival"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

#: part of the package (subpackage or top-level module) -> layer; a part imports only
#: parts of strictly lower layers. Keep in step with docs/architecture.rst.
LAYERS = {
    "_config": 0,
    "_lazy": 0,
    "_parallel": 1,
    "_schema": 0,
    "_output_paths": 1,
    "utils": 1,
    "preprocessing": 2,
    "metrics": 2,
    "model_selection": 2,
    "competing_risks": 3,
    "datasets": 4,
    "radiomics": 4,
    "plotting": 4,
    "nn": 4,
    "models": 5,
    "explain": 5,
    "_model_card": 5,
    "compare": 6,
    "_model_io": 6,
    "_registry": 7,
    "report": 7,
    "_demo": 8,
    "web": 8,
    "cli": 9,
}


def _module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """``(line, imported dotted module, imported names)`` for each import of ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def _part(dotted):
    """The part of the package a dotted module name belongs to (``None`` for the root)."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else None


def _violations(path):
    module = _module_name(path)
    own = _part(module)
    found = []
    for line, target, names in _imports(path):
        if target != PACKAGE and not target.startswith(PACKAGE + "."):
            continue
        other = _part(target)
        where = f"{path.relative_to(ROOT.parent)}:{line}"
        if other is None:
            # ``from sarcoma_survival import X``: the lazy public API, for the entry points only
            if own is not None and LAYERS.get(own, 0) < LAYERS["_registry"]:
                found.append(f"{where}: imports the top-level package")
            continue
        if other == own:
            continue
        private = [p for p in target.split(".")[2:] if p.startswith("_")]
        if private:
            found.append(f"{where}: imports {target}, a private module of {PACKAGE}.{other}")
        private_names = [n for n in names if n.startswith("_") and n != "__version__"]
        if private_names and LAYERS.get(own, 0) < LAYERS["_registry"]:
            found.append(f"{where}: imports private name(s) {private_names} from {target}")
        if own is None:
            continue  # the root __init__ re-exports lazily through importlib, not imports
        if own not in LAYERS or other not in LAYERS:
            unknown = own if own not in LAYERS else other
            found.append(
                f"{where}: {PACKAGE}.{unknown} has no layer; add it to LAYERS in "
                "tests/test_architecture.py and to docs/architecture.rst"
            )
        elif LAYERS[other] >= LAYERS[own]:
            found.append(
                f"{where}: {own} (layer {LAYERS[own]}) imports {other} (layer {LAYERS[other]}); "
                "a part imports only lower layers"
            )
    return found


MODULES = sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_imports_respect_the_layers(path):
    assert _violations(path) == []


def test_every_part_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert parts == set(LAYERS)


def test_the_architecture_page_lists_every_part():
    page = (ROOT.parent / "docs" / "architecture.rst").read_text(encoding="utf-8")
    missing = [part for part in LAYERS if f"``{part}``" not in page]
    assert missing == []


def test_the_scan_catches_what_it_forbids(tmp_path, monkeypatch):
    """The rules fire on the imports they forbid (so the scan above is not vacuous)."""
    fake = tmp_path / PACKAGE
    (fake / "metrics").mkdir(parents=True)
    (fake / "nn").mkdir()
    for folder in (fake, fake / "metrics", fake / "nn"):
        (folder / "__init__.py").write_text("")
    bad = fake / "metrics" / "_impl.py"
    bad.write_text(
        "from ..nn._loss import cox_ph_loss\n"      # private module of another part
        "from ..utils import _files\n"              # private name of another part
        "def f():\n    from ..nn import MMNN\n"     # a higher layer, inside a function
    )
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    messages = _violations(bad)
    assert any("private module of sarcoma_survival.nn" in m for m in messages)
    assert any("private name(s) ['_files']" in m for m in messages)
    assert sum(f"imports nn (layer {LAYERS['nn']})" in m for m in messages) == 2


#: Modules that use fitted estimators from outside: they read only public attributes.
OUTSIDERS = ("cli.py", "explain", "_demo.py", "compare.py", "web")

#: Private attributes these modules may read, with why (not an estimator or transformer).
PRIVATE_READS_ALLOWED = {
    ("web/_uploads.py", "reader._name"): "python-multipart's file reader: the field name",
    ("web/_uploads.py", "reader._file"): "python-multipart's file reader: its open file",
}


def test_outsiders_read_no_private_attribute_of_an_estimator():
    # cli, web, explain, the demo and compare go through public methods and attributes,
    # so that a refactor inside an estimator cannot break them silently
    found = []
    for part in OUTSIDERS:
        paths = sorted((ROOT / part).glob("*.py")) if (ROOT / part).is_dir() else [ROOT / part]
        for path in paths:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            modules = {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
                       if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                        and not node.attr.startswith("__")):
                    continue
                owner = node.value.id if isinstance(node.value, ast.Name) else None
                if owner in ("self", "cls") or owner in modules:
                    continue
                key = (str(path.relative_to(ROOT)), ast.unparse(node))
                if key not in PRIVATE_READS_ALLOWED:
                    found.append(f"{key[0]}:{node.lineno}: {key[1]}")
    assert not found, "private attributes read from outside an estimator:\n" + "\n".join(found)


#: Names resolved upwards on first use (``utils.lazy_exports``), each the alias of a public
#: name that moved to a higher layer, kept so that old imports and model files still work.
UPWARD_ALIASES = {
    ("metrics", "competing_risks"): "metrics.concordance_index_competing (home: competing_risks)",
    ("competing_risks", "models"): "competing_risks.SarculatorFineGray (home: models)",
}


def _named_modules(path):
    """``(line, dotted name)`` of each string of ``path`` that names a module of the package."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and node.value.startswith(PACKAGE + ".")
                and all(p.isidentifier() for p in node.value.split("."))):
            yield node.lineno, node.value


def test_modules_named_by_string_respect_the_layers():
    # a lazy export (importlib on a string) is an import too: it may not reach a higher
    # layer, except for the aliases above
    found, used = [], set()
    for path in MODULES:
        own = _part(_module_name(path))
        if own is None:
            continue  # the root __init__ re-exports the public API lazily
        for line, name in _named_modules(path):
            other = _part(name)
            if other is None or other == own or LAYERS[other] < LAYERS[own]:
                continue
            if (own, other) in UPWARD_ALIASES:
                used.add((own, other))
                continue
            found.append(f"{path.relative_to(ROOT.parent)}:{line}: {own} names {name} (a higher layer)")
    assert found == []
    assert used == set(UPWARD_ALIASES)  # no stale allowance


def test_upward_aliases_are_the_same_objects():
    import sarcoma_survival.competing_risks as competing_risks
    import sarcoma_survival.metrics as metrics
    import sarcoma_survival.models as models
    from sarcoma_survival.competing_risks._sarculator import SarculatorFineGray as old_path

    assert metrics.concordance_index_competing is competing_risks.concordance_index_competing
    assert competing_risks.SarculatorFineGray is models.SarculatorFineGray is old_path
