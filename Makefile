# speechforge: two commands from a fresh clone.
#   make demo   synthesize digits, split speaker-disjoint, audit, train, evaluate, diagnose (report.html)
#   make test   environment check, lint (ruff), types (mypy), tests (pytest)
# Both create .venv (unless a virtual environment is active) and install the package with a constraints file
# pinning torch==2.13.0, so pip never pulls a second, CUDA build of torch.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
DEMO_DIR ?= demo-output

ifdef VIRTUAL_ENV
  PY := $(VIRTUAL_ENV)/bin/python
else
  PY := $(VENV)/bin/python
endif
SF := $(PY) -m speechforge
STAMP := $(dir $(PY)).speechforge-installed

.PHONY: install demo test lint typecheck bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

SPLITS := $(DEMO_DIR)/splits
demo: install
	$(SF) data synth digits --out $(DEMO_DIR)/digits --seed 0
	$(SF) data split $(DEMO_DIR)/digits/manifest.jsonl --out $(SPLITS) --by speaker --train-dev 0.05 --seed 0
	$(SF) data check $(SPLITS)
	$(SF) train recipes/digits_cnn.yaml data.train=$(SPLITS)/train.jsonl data.dev=$(SPLITS)/dev.jsonl \
	    data.test=$(SPLITS)/test.jsonl data.train_dev=$(SPLITS)/train_dev.jsonl --out $(DEMO_DIR)/run --overwrite
	$(SF) evaluate $(DEMO_DIR)/run --manifest $(SPLITS)/test.jsonl
	$(SF) diagnose $(DEMO_DIR)/run

lint: install
	$(PY) -m ruff check src tests benchmarks scripts experiments
	$(PY) -m ruff format --check src tests benchmarks scripts experiments

typecheck: install
	$(PY) -m mypy

# Two test workers on two cores: one torch thread each (also in the CLI subprocesses), no oversubscription.
test: install
	$(PY) scripts/check_environment.py
	$(MAKE) --no-print-directory lint typecheck
	@bash scripts/install_test_browser.sh || true
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2

bench: install
	$(PY) benchmarks/data.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
