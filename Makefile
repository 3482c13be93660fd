# Socket Workbench: `make run` to use it, `make test` to check everything (what CI runs).

PY ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

.PHONY: help sysdeps venv lint fmt test run bench screenshot package package-test clean

help:
	@echo "make run      start Socket Workbench (headless self-test when there is no display)"
	@echo "make test     system packages, venv, lint, then the test suite (what CI runs)"
	@echo "make lint     ruff, mypy --strict (outside workbench/ui), import-linter"
	@echo "make fmt      ruff format and safe ruff fixes"
	@echo "make bench    benchmarks/run.py"
	@echo "make screenshot  docs/screenshot.png of the window under Xvfb"
	@echo "make clean    remove build output and caches (keeps $(VENV))"

sysdeps:
	@.ci/sysdeps.sh

# The venv is (re)installed when pyproject.toml (or the version, which the installed metadata
# copies) is newer than the stamp.
venv: $(STAMP)

$(STAMP): pyproject.toml workbench/__init__.py
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install --no-input --disable-pip-version-check -e '.[test]'
	@touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: sysdeps venv lint
	QT_QPA_PLATFORM=offscreen QT_API=pyside6 $(VPY) -m pytest $(PYTEST_ARGS)

run: sysdeps venv
	@if [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
		echo "No display (neither DISPLAY nor WAYLAND_DISPLAY is set): running the headless self-test instead."; \
		$(VENV)/bin/socket-workbench --self-test; \
	else \
		$(VENV)/bin/socket-workbench; \
	fi

bench: venv
	$(VPY) benchmarks/run.py

# docs/screenshot.png: the window under Xvfb with a few live sockets (plain, TLS, an error).
screenshot: sysdeps venv
	$(VPY) tools/screenshot.py

package package-test:
	@echo "make $@: not yet" >&2
	@exit 1

clean:
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
