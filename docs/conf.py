"""Sphinx configuration of the sk_dim documentation (``make docs``)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import matplotlib

import sk_dim

matplotlib.use("Agg")
DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))
# the examples run here on the CPU, with one thread per core of the build machine
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

project = "sk_dim"
author = "the sk_dim developers"
copyright = "2026, the sk_dim developers"
release = sk_dim.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]
nitpicky = False

autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# every public class and function documents its parameters, what it returns,
# and has an Examples section that runs as a doctest
numpydoc_validation_checks = {"GL08", "PR01", "PR02", "RT01", "EX01"}
numpydoc_validation_exclude = {
    # methods of classes: torch's forward and sklearn's fit/transform family are
    # documented on their class
    r"\.[A-Z]\w*\.\w+$",
}

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "reset_modules": ("matplotlib",),
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sk_dim",),
}

html_theme = "pydata_sphinx_theme"
html_title = "sk_dim"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
}
html_static_path: list[str] = []


def skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata routing and output configuration.

    Their docstrings belong to scikit-learn's documentation, which they link.
    """
    if re.fullmatch(r"set_\w+_request|get_metadata_routing|set_output", name):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", skip_member)
