# Two commands do all the set-up on a fresh machine: `make book` and `make test`.
# Both create .venv if it is missing and install the locked dependencies into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.parbook-installed
HTML := $(CURDIR)/_build/html
# pip itself is pinned like every other dependency (Dependabot proposes updates).
PIP_VERSION := 26.3

.PHONY: setup pythons book test lint serve lock clean browser-deps linkcheck page

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP)

# Other interpreters for the chapters whose answers depend on the interpreter, named in
# PARBOOK_PYTHONS (e.g. PARBOOK_PYTHONS="python3.12 python3.13 python3.14t"): one virtual
# environment each under .venv-pythons/, from the same lock, holding only what those
# chapters import (parbook/interpreters.py). A name not found here is reported and skipped;
# the pages then say so. Unset: nothing to do, the build's own interpreter only.
pythons: setup
	@if [ -n "$(strip $(PARBOOK_PYTHONS))" ]; then \
		$(BIN)/python -m parbook.interpreters setup $(PARBOOK_PYTHONS); fi

# The published build: full sizes, forced execution, fresh, warnings as errors.
book: setup pythons
	rm -rf _build/html _build/jupyter_execute
	$(BIN)/jupyter-book build book/ --all -W --keep-going
	@echo "The book is in $(HTML)/index.html (view it with: make serve)"

# Lint, unit tests, every experiment in quick mode, a full quick build of the book, and
# that build in a real browser (tests/test_browser.py).
test: setup lint browser-deps pythons
	$(BIN)/python -m pytest

# What the browser tests need besides Python: a Chromium (Debian's package, installed here
# when we run as root with apt-get; GitHub's runners already have Google Chrome) and
# axe-core from the npm registry, at the version tests/browser/package-lock.json pins.
# Where neither can be had, the tests say so and skip; nothing else depends on them.
AXE := tests/browser/node_modules/axe-core/axe.min.js

browser-deps: $(AXE)
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
		|| command -v google-chrome >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium >/dev/null; } \
		|| echo "WARNING: could not install chromium: the browser tests will be skipped"; \
	else echo "WARNING: no Chromium and no way to install it: the browser tests will be skipped"; fi

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/browser --no-audit --no-fund --silent; \
	else echo "WARNING: npm not found: the accessibility check will be skipped"; fi

# One page on its own, at quick size, while writing it: make page PAGE=the-gil
# (links to other pages cannot resolve in a standalone build; make test builds the book).
page: setup
	@test -n "$(PAGE)" || { echo "usage: make page PAGE=<page name, e.g. the-gil>"; exit 2; }
	PARBOOK_QUICK=1 $(BIN)/jupyter-book build book/$(PAGE).md
	@echo "The page is in $(CURDIR)/_build/_page/book-$(PAGE)/html/$(PAGE).html"

lint: setup
	$(BIN)/ruff check code tests

# External links (needs the network: run by the scheduled Links workflow, not by make test).
# The report is _build/linkcheck/output.txt.
linkcheck: setup
	PARBOOK_QUICK=1 $(BIN)/jupyter-book build book/ --all --builder linkcheck

# The built site on http://127.0.0.1:8000, for this machine only (PORT=... to change it).
PORT ?= 8000
serve:
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory $(HTML) $(PORT)

# Regenerate the lock after changing dependencies in pyproject.toml.
lock: setup
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--output-file requirements.lock

clean:
	rm -rf _build test-output .venv-pythons
	@# results/machines/ holds contributed machines' committed results: keep it.
	@if [ -d results ]; then find results -mindepth 1 -maxdepth 1 ! -name machines \
		-exec rm -rf {} +; fi
