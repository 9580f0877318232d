"""Sphinx configuration for the course book: ``make book`` -> docs/_build/html/index.html.

The source folder is the project root (so notebooks/ and solutions/ are read
where they live), this file's folder is the configuration folder. Notebooks
are NOT executed here: the book publishes the outputs that nbval checked.
"""

import shutil
from pathlib import Path

import jupyter_server_mathjax

project = "bpkit: learn backpropagation by building it"
author = "the bpkit authors"
copyright = "2026, the bpkit authors"

extensions = ["myst_nb"]

# Only the book's pages: the course notebooks, the solutions and docs/*.md.
exclude_patterns = [
    ".*",
    "**/.*",
    "_build",
    "build",
    "*.egg-info",
    "README.md",
    "bpkit",
    "benchmarks",
    "exercises",
    "tests",
    "docs/_build",
    "docs/images",
    "docs/_root",
]
root_doc = "docs/index"

nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
myst_update_mathjax = False  # its settings are for MathJax 3; the book ships MathJax 2 (below)

html_theme = "sphinx_book_theme"
html_title = "bpkit: learn backpropagation"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
}
# MathJax ships with the book (MathJax 2.7 from the jupyter-server-mathjax package), so its
# formulas render without a network. Sphinx copies html_static_path into _static/.
_MATHJAX = Path(jupyter_server_mathjax.__file__).parent / "static"
_STATIC = Path(__file__).parent / "_build" / "static-extra"
shutil.copytree(_MATHJAX, _STATIC / "mathjax", dirs_exist_ok=True)
html_static_path = [str(_STATIC)]
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processRefs": False,
    },
    "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None},
}
# The start page lives at docs/index.html; this index.html at the top redirects to it.
html_extra_path = ["_root"]
