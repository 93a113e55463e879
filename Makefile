# The two commands in the README: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run interview explore user test test-real-model lint typecheck bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

HOST ?= 127.0.0.1
PORT ?= 8000

LOG_FORMAT ?= text

# One process validates the bank, ingests what changed and serves (the imports are paid once);
# it prints `ready: http://HOST:PORT` once /readyz says ok.
run: install
	$(VENV)/bin/interviewer serve --prepare --host $(HOST) --port $(PORT) --log-format $(LOG_FORMAT)

interview: install
	$(VENV)/bin/interviewer ingest
	$(VENV)/bin/interviewer interview

explore: install
	$(VENV)/bin/interviewer ingest
	$(VENV)/bin/interviewer explore

# A staff account in the database `make run` uses (./data here): make user EMAIL=hr@example.com ROLE=hr
EMAIL ?=
ROLE  ?= hr
user: install
	@test -n "$(EMAIL)" || { echo "usage: make user EMAIL=you@example.com ROLE=hr|evaluator"; exit 2; }
	$(VENV)/bin/interviewer users create --email "$(EMAIL)" --role "$(ROLE)"

# Parallel workers (pytest-xdist), one per core; a test file runs on one worker (its module-scoped
# fixtures — a browser, a server — are started once). TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto

test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# Not part of `make test`: downloads a 1.07 GiB model and builds llama-server (~10 min the first
# time, cached in .cache/real-model/), then runs an interview against it (tests/real_model/).
test-real-model: install
	PY=$(abspath $(PY)) benchmarks/real_model/run.sh

lint: install
	$(VENV)/bin/ruff check interviewer tests benchmarks

typecheck: install
	$(VENV)/bin/mypy interviewer

bench: install
	$(PY) benchmarks/bench_bank.py
	$(PY) benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
