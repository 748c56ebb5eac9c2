# Two commands on a fresh machine: `make demo` (train + evaluate on an embedded dataset) and
# `make test`. Both create .venv and install from constraints.txt, which pins torch 2.13.0;
# TORCH_INDEX=https://download.pytorch.org/whl/cpu installs its CPU build first (see README).
PYTHON ?= python3
TORCH_INDEX ?=
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench bench-predict clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(PY) -m pip install --quiet -c constraints.txt --index-url $(TORCH_INDEX) torch)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: install
	$(PY) scripts/demo.py

test: install
	$(PY) scripts/run_tests.py

lint: install
	$(VENV)/bin/ruff check textcnn scripts tests
	$(VENV)/bin/ruff format --check textcnn scripts tests
	$(VENV)/bin/mypy  # settings in pyproject.toml [tool.mypy]: the textcnn package

# The whole benchmark (README "Benchmarks"); pass a subset with e.g. BENCH_ARGS="--datasets mr,trec --seeds 1".
# fastText is an optional baseline: it is built from source here, and skipped with a note if that fails.
BENCH_ARGS ?=

bench: install
	@$(PY) -c "import fasttext" 2>/dev/null || $(PY) -m pip install --quiet -c constraints.txt fasttext \
		|| echo "note: fasttext did not install; the benchmark skips that baseline"
	$(PY) -m scripts.bench $(BENCH_ARGS)

bench-predict: install  # textcnn predict vs a plain loop on ../shared/benchmarks/mr (trains a model first)
	$(PY) -m scripts.bench_predict

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache
