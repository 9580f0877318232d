# The two commands a newcomer needs: `make lab` and `make test`.
VENV   ?= .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
BROWSER_STAMP := $(VENV)/.installed-browser
JUPYTER_PORT ?= 8888
# Tests run on two workers; nbval keeps each notebook on one worker (loadscope).
PYTEST_WORKERS ?= 2

.PHONY: lab test test-unit test-browser bench book exercises execute clean

$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The server's root is the project (so exercises/ and solutions/ are browsable too);
# the URL it prints opens notebook 00.
lab: $(STAMP)
	$(NUMERIC_ENV) $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" --port=$(JUPYTER_PORT) \
	    --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb \
	    $(if $(filter 0,$(shell id -u)),--allow-root) $(if $(filter true,$(BROWSER)),--no-browser)

# One BLAS thread per process: two workers, each with a kernel, already fill two cores, and
# oversubscribed OpenBLAS threads make small matrix products many times slower.
# The same floating-point kernels on every x86-64 machine: OpenBLAS's and numpy's loops differ
# between AVX2 and AVX-512 in the last bits, and a chaotic run (notebook 08 at lr 0.2) turns
# that into other printed numbers. The committed outputs are recorded with AVX2's kernels.
NUMERIC_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
ifeq ($(shell uname -m),x86_64)
NUMERIC_ENV += OPENBLAS_CORETYPE=Haswell NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
endif

test: $(STAMP)
	$(NUMERIC_ENV) $(PYTHON) -m pytest -n $(PYTEST_WORKERS) \
	    --dist loadscope --nbval --nbval-current-env -p no:cacheprovider -m "not browser"

test-unit: $(STAMP)
	$(NUMERIC_ENV) $(PYTHON) -m pytest -n $(PYTEST_WORKERS) \
	    -p no:cacheprovider -m "not browser" tests

$(DOCS_STAMP): $(STAMP)
	$(PYTHON) -m pip install --quiet -e ".[test,docs]"
	touch $(DOCS_STAMP)

# The book publishes the outputs nbval checked (nothing is executed); -W: a warning fails it.
book: $(DOCS_STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html -c docs . docs/_build/html
	@echo "book: open docs/_build/html/index.html"

$(BROWSER_STAMP): $(STAMP)
	$(PYTHON) -m pip install --quiet -e ".[test,browser]"
	touch $(BROWSER_STAMP)

# End to end: JupyterLab in Debian's chromium runs notebooks 02 and 07 and moves their widgets;
# screenshots go to test-artifacts/. Needs /usr/bin/chromium (apt-get install chromium),
# never `playwright install` (it downloads a browser of its own).
test-browser: $(BROWSER_STAMP)
	@test -x /usr/bin/chromium || { echo "test-browser: /usr/bin/chromium missing: apt-get install -y chromium" >&2; exit 1; }
	$(PYTHON) -m pytest -m browser -p no:cacheprovider -v tests/test_browser.py

bench: $(STAMP)
	$(PYTHON) benchmarks/run.py

exercises: $(STAMP)
	$(PYTHON) -m bpkit make-exercises

# Re-record one notebook's outputs with the kernels the tests use: make execute NB=solutions/05_x.ipynb
execute: $(STAMP)
	@test -f "$(NB)" || { echo "execute: NB=path/to/notebook.ipynb" >&2; exit 1; }
	cd "$(dir $(NB))" && $(NUMERIC_ENV) $(CURDIR)/$(VENV)/bin/jupyter execute --inplace "$(notdir $(NB))"


clean:
	rm -rf $(VENV) build *.egg-info docs/_build test-artifacts
