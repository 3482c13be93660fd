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
	@echo "make lint     ruff, mypy --strict, import-linter"
	@echo "make fmt      ruff format and safe ruff fixes"
	@echo "make bench    benchmarks/run.py"
	@echo "make package  the Linux program in dist/: a .tar.gz of the folder and a .deb"
	@echo "make package-test  unpack both and run their --self-test offscreen"
	@echo "make screenshot  docs/screenshot.png of the window under Xvfb"
	@echo "make clean    remove build output and caches (keeps $(VENV))"

sysdeps:
	@.ci/sysdeps.sh

# The venv is (re)installed when pyproject.toml (or the version, which the installed metadata
# copies) is newer than the stamp. pip compiles the bytecode of what it installs, but an
# editable install (-e) leaves workbench/ itself uncompiled, and a start without .pyc files
# compiles about 400 KB of source every time (issue 14): compileall does it here, on every
# `make venv` (a few stat calls when nothing changed), so that a development start (`make
# run`) is as quick as an installed one even where PYTHONDONTWRITEBYTECODE is set.
venv: $(STAMP)
	@$(VPY) -m compileall -q -j 0 workbench

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

# The Linux program: dist/socket-workbench-<v>-linux-x86_64.tar.gz and the .deb, built in a
# virtualenv of its own (build/pkg-venv). Windows and macOS: packaging/README.md.
package:
	PY=$(PY) packaging/build.sh

# Unpack both into a temporary directory and run their --self-test offscreen, with no
# virtualenv on PATH.
package-test:
	packaging/package_test.sh

clean:
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
