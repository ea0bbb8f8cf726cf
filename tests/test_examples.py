"""Static checks of the sphinx-gallery examples (``examples/plot_*.py``).

Running the examples belongs to the documentation build (it executes every one of them);
these tests only check, in well under a second each, what would otherwise fail late in
that build: the file parses and imports only the public API, it has the title docstring
sphinx-gallery needs, it is cut into ``# %%`` cells, it says that its data are simulated, and
every name it imports from ``sarcoma_survival`` exists.
"""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))
IDS = [p.name for p in SCRIPTS]


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_examples_exist():
    assert SCRIPTS, f"no examples/plot_*.py found in {EXAMPLES}"


@pytest.mark.parametrize("path", SCRIPTS, ids=IDS)
def test_example_uses_only_the_public_api(path):
    """Readers copy examples: no private module or name of the package (the file also has
    to parse for this to run, which catches a syntax error before the docs build)."""
    private = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sarcoma_survival"):
            parts = node.module.split(".") + [alias.name for alias in node.names]
            private += [f"line {node.lineno}: {part}" for part in parts if part.startswith("_")]
        elif isinstance(node, ast.Import):
            private += [f"line {node.lineno}: {a.name}" for a in node.names
                        if a.name.startswith("sarcoma_survival") and "._" in a.name]
    assert private == [], f"{path.name} imports private parts of sarcoma_survival"


@pytest.mark.parametrize("path", SCRIPTS, ids=IDS)
def test_example_has_title_docstring(path):
    docstring = ast.get_docstring(_tree(path), clean=False)
    assert docstring, f"{path.name}: sphinx-gallery needs a module docstring with a title"
    lines = [line.rstrip() for line in docstring.strip().splitlines()]
    # An rst title: a line of text over-and-underlined (or underlined) with "=".
    start = 1 if set(lines[0]) == {"="} else 0
    title, underline = lines[start], lines[start + 1]
    assert title.strip() and set(underline) == {"="}, f"{path.name}: no '=' title"
    assert len(underline) >= len(title), f"{path.name}: title underline too short"
    assert len(lines) > start + 3, f"{path.name}: the docstring needs a paragraph after the title"


@pytest.mark.parametrize("path", SCRIPTS, ids=IDS)
def test_example_has_cells_and_says_simulated(path):
    text = path.read_text(encoding="utf-8")
    assert len(re.findall(r"^# %%", text, flags=re.MULTILINE)) >= 2, f"{path.name}: no cells"
    docstring = ast.get_docstring(_tree(path))
    assert "simulated" in docstring.lower(), f"{path.name}: say plainly what is simulated"


@pytest.mark.parametrize("path", SCRIPTS, ids=IDS)
def test_example_imports_exist(path):
    missing = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sarcoma_survival"):
            module = importlib.import_module(node.module)
            absent = [a.name for a in node.names if not hasattr(module, a.name)]
            missing += [f"{node.module}.{name}" for name in absent]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sarcoma_survival"):
                    importlib.import_module(alias.name)
    assert not missing, f"{path.name} imports names that do not exist: {missing}"
