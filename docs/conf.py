"""Sphinx configuration of the sarcoma_survival documentation.

Build (warnings are errors, the gallery is executed)::

    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

or ``python3 scripts/dev.py docs``. The build works offline. Links into the documentation of
Python, NumPy, scikit-learn, scikit-survival and PyTorch (intersphinx) are only made when the
environment variable ``SARCOMA_SURVIVAL_DOCS_INTERSPHINX=1`` is set, because fetching their
inventories needs the internet and a failed fetch is a warning that ``-W`` turns into an error.
Set ``SARCOMA_SURVIVAL_DOCS_GALLERY=0`` to skip executing the gallery (quick rebuilds of the text).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# Plots are drawn off-screen, also when the gallery runs on a machine with a display.
os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import sarcoma_survival  # noqa: E402  (after the sys.path line, so a source checkout works)

# -- Project -----------------------------------------------------------------------------------
project = "sarcoma_survival"
author = "sarcoma_survival developers"
copyright = "2024-2025, sarcoma_survival developers"  # noqa: A001  (Sphinx's name)
release = sarcoma_survival.__version__
version = ".".join(release.split(".")[:2])

# -- Extensions --------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "**.ipynb_checkpoints", "sg_execution_times.rst"]
root_doc = "index"
default_role = "literal"
nitpicky = False

# -- autodoc / autosummary / numpydoc ----------------------------------------------------------
autosummary_generate = True  # stubs go to docs/generated/ (git-ignored)
autosummary_imported_members = False
autodoc_typehints = "none"  # types are written in the numpydoc Parameters sections
autodoc_member_order = "groupwise"
autodoc_default_options = {"members": True, "inherited-members": True}

numpydoc_show_class_members = False  # member tables come from the autosummary class template
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

# Inherited methods are shown only for the estimator contract; the many other public methods
# of the base classes (skorch's NeuralNet, scikit-learn's metadata routing, ...) are documented
# by those projects.
_INHERITED_KEPT = {
    "fit", "predict", "score", "transform", "fit_transform", "inverse_transform",
    "predict_survival_function", "predict_cumulative_hazard_function",
    "get_params", "set_params", "get_feature_names_out",
}


def _defined_here(obj) -> bool:
    module = getattr(obj, "__module__", None) or getattr(getattr(obj, "fget", None), "__module__", "")
    return bool(module) and module.split(".")[0] == "sarcoma_survival"


def _framework_hooks() -> set[str]:
    """Names of skorch's training hooks (``initialize``, ``get_loss``, ``infer``...).

    The neural estimators override some of them; those overrides are implementation
    details of the skorch integration, not part of this toolkit's API.
    """
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return set()
    return {name for name in dir(NeuralNet) if not name.startswith("_")} - _INHERITED_KEPT


_HOOKS = _framework_hooks()


def _skip_member(app, what, name, obj, skip, options):
    if what != "class" or skip:
        return None
    if name.startswith("_") or name in _HOOKS:
        return True
    if _defined_here(obj):
        return None
    return name not in _INHERITED_KEPT


_REF_ROLE = re.compile(r":ref:`([^`<]+?)\s*<[^`>]+>`|:ref:`([^`]+)`")


def _plain_foreign_refs(app, what, name, obj, options, lines):
    """Turn ``:ref:`` roles of inherited third-party docstrings into plain text.

    Their labels live in the other project's documentation; offline they cannot be resolved and
    an unknown label is always a warning.
    """
    if _defined_here(obj):
        return
    for i, line in enumerate(lines):
        lines[i] = _REF_ROLE.sub(lambda m: (m.group(1) or m.group(2)).strip(), line)


# -- intersphinx (opt-in, needs the internet) --------------------------------------------------
if os.environ.get("SARCOMA_SURVIVAL_DOCS_INTERSPHINX", "0") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "sksurv": ("https://scikit-survival.readthedocs.io/en/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    }
else:
    intersphinx_mapping = {}
intersphinx_timeout = 10

# -- sphinx-gallery ----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",  # git-ignored
    # "Gallery examples using X" on each API page (the minigallery of the autosummary templates).
    "backreferences_dir": "generated/backreferences",  # git-ignored with generated/
    "doc_module": ("sarcoma_survival",),
    # Every examples/plot_*.py is executed; other files (helpers) are not.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "plot_gallery": os.environ.get("SARCOMA_SURVIVAL_DOCS_GALLERY", "1") != "0",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 5,
    "show_memory": False,
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sarcoma_survival {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path: list[str] = []
html_show_sourcelink = False

# -- User-guide order --------------------------------------------------------------------------
# Helpers add pages as docs/user_guide/<area>.rst; the user-guide index lists them in this
# order, then any page not named here (alphabetically), so a new page never breaks the build
# by being left out of every toctree.
USER_GUIDE_ORDER = [
    "cohort", "synthetic", "preprocessing", "radiomics", "models", "neural", "t1_only", "blending",
    "evaluation", "model_selection", "competing_risks", "explain", "plotting", "compare", "cli",
    "distributed", "web", "model_files", "external_validation", "validation", "differences", "limitations", "refusals",
]
_UG_MARKER = ".. user-guide-pages::"


def _user_guide_pages() -> list[str]:
    found = {p.stem for p in (DOCS / "user_guide").glob("*.rst") if p.stem != "index"}
    ordered = [name for name in USER_GUIDE_ORDER if name in found]
    return ordered + sorted(found - set(ordered))


def _fill_user_guide_toctree(app, docname, source):
    if docname != "user_guide/index" or _UG_MARKER not in source[0]:
        return
    entries = "\n".join(f"   {name}" for name in _user_guide_pages())
    toctree = f".. toctree::\n   :maxdepth: 2\n\n{entries}\n"
    source[0] = source[0].replace(_UG_MARKER, toctree)


def _reread_user_guide_index(app, env, added, changed, removed):
    # Its toctree depends on which pages exist, not on its own text: re-read it every build.
    return ["user_guide/index"]


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _plain_foreign_refs)
    app.connect("source-read", _fill_user_guide_toctree)
    app.connect("env-get-outdated", _reread_user_guide_index)
