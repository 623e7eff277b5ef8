# Two commands do all the set-up on a fresh machine: `make book` and `make test`.
# Both create .venv if it is missing and install the locked dependencies into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.parbook-installed
HTML := $(CURDIR)/_build/html

.PHONY: setup book test lint serve lock clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP)

# The published build: full sizes, forced execution, fresh, warnings as errors.
book: setup
	rm -rf _build/html _build/jupyter_execute
	$(BIN)/jupyter-book build book/ --all -W --keep-going
	@echo "The book is in $(HTML)/index.html (view it with: make serve)"

# Lint, unit tests, every experiment in quick mode, and a full quick build of the book.
test: setup lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check code tests

serve:
	$(BIN)/python -m http.server --directory $(HTML) 8000

# Regenerate the lock after changing dependencies in pyproject.toml.
lock: setup
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--output-file requirements.lock

clean:
	rm -rf _build results test-output
