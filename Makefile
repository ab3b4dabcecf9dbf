# kluis — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-stamp
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: run test check conformance peers identity hardening bench bench-import bench-imap demo clean

# What `make run` needs: kluis and its runtime libraries, no developer tools.
$(STAMP): pyproject.toml
	@echo "make: creating the virtual environment in $(VENV)/ …"
	@$(PYTHON) -m venv $(VENV)
	@echo "make: installing kluis and its libraries into $(VENV)/ (a minute or two the first time) …"
	@$(PIP) -e .
	@touch $(STAMP)

# What the developer targets add: pytest, ruff, mypy and the test-only libraries.
$(DEV_STAMP): $(STAMP)
	@echo "make: installing the developer tools (pytest, ruff, mypy) into $(VENV)/ …"
	@$(PIP) -e '.[dev]'
	@touch $(DEV_STAMP)

## run: set up, then open kluis (on a machine with no vault it offers the demo vault)
run: $(STAMP)
	@echo "make: kluis is $(BIN)/kluis; \`. $(BIN)/activate\` puts it on your PATH as \`kluis\`."
	@echo "make: opening the app (ctrl+q quits) …"
	@$(BIN)/kluis

## test: the whole test suite (real SQLCipher, real files)
test: $(DEV_STAMP)
	$(BIN)/python -m pytest

## check: lint and types
check: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check vault importers exports tui
	$(BIN)/mypy

## conformance: every case of ../shared/corpus (skips cleanly when it is absent)
conformance: $(DEV_STAMP)
	$(BIN)/python tests/conformance/run.py

## peers: KDE KItinerary's own test inputs through kluis import, compared with its results
## (../shared/peers; skips cleanly when it is absent)
peers: $(DEV_STAMP)
	$(BIN)/python tests/peers/run.py

## identity: who each item of the labelled identity set is with: pairwise precision, recall, names
identity: $(DEV_STAMP)
	$(BIN)/python tests/identity/run.py

## hardening: the long crash, hostile-input and property runs (make test runs the short ones)
hardening: $(DEV_STAMP)
	KLUIS_HARDENING_LONG=1 $(BIN)/python -m pytest tests/hardening --timeout 1800

## bench: every speed figure (prints tables; never a pass/fail test)
bench: $(DEV_STAMP)
	$(BIN)/python bench/all.py

## bench-import: kluis import vs mu, notmuch, mbox-to-sqlite on 20,000 generated mails
bench-import: $(DEV_STAMP)
	$(BIN)/python bench/import_mail.py

## bench-imap: kluis sync imap vs mbsync + mu index, from a local Dovecot (BENCH_MAILS, 5,000)
bench-imap: $(DEV_STAMP)
	$(BIN)/python bench/import_imap.py

## demo: build the demo vault without opening the app
demo: $(STAMP)
	$(BIN)/kluis demo --no-tui

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
