# kluis — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check conformance peers identity hardening bench bench-import demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: set up, then open kluis (on a machine with no vault it offers the demo vault)
run: $(STAMP)
	$(BIN)/kluis

## test: the whole test suite (real SQLCipher, real files)
test: $(STAMP)
	$(BIN)/python -m pytest

## check: lint and types
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check vault importers exports tui
	$(BIN)/mypy

## conformance: every case of ../shared/corpus (skips cleanly when it is absent)
conformance: $(STAMP)
	$(BIN)/python tests/conformance/run.py

## peers: KDE KItinerary's own test inputs through kluis import, compared with its results
## (../shared/peers; skips cleanly when it is absent)
peers: $(STAMP)
	$(BIN)/python tests/peers/run.py

## identity: who each item of the labelled identity set is with: pairwise precision, recall, names
identity: $(STAMP)
	$(BIN)/python tests/identity/run.py

## hardening: the long crash, hostile-input and property runs (make test runs the short ones)
hardening: $(STAMP)
	KLUIS_HARDENING_LONG=1 $(BIN)/python -m pytest tests/hardening --timeout 1800

## bench: every speed figure (prints tables; never a pass/fail test)
bench: $(STAMP)
	$(BIN)/python bench/all.py

## bench-import: kluis import vs mu, notmuch, mbox-to-sqlite on 20,000 generated mails
bench-import: $(STAMP)
	$(BIN)/python bench/import_mail.py

## demo: build the demo vault without opening the app
demo: $(STAMP)
	$(BIN)/kluis demo --no-tui

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
