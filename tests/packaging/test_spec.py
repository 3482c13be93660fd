"""packaging/socket-workbench.spec and its runtime hook: one folder, the excludes, QT_API."""

from __future__ import annotations

import os
import re
import runpy
import sys

import pytest

from tests.packaging import APP_ID, PACKAGING

SPEC = (PACKAGING / "socket-workbench.spec").read_text(encoding="utf-8")


def test_spec_is_valid_python() -> None:
    compile(SPEC, "socket-workbench.spec", "exec")


def test_spec_builds_one_folder_from_the_launcher() -> None:
    assert "exclude_binaries=True" in SPEC  # the libraries beside the program: one folder
    assert re.search(r"^coll = COLLECT\(", SPEC, re.M)
    assert "launcher.py" in SPEC
    assert "from workbench.app import main as app_main" in (PACKAGING / "launcher.py").read_text(
        encoding="utf-8"
    )


def test_spec_applies_the_excludes_and_the_runtime_hook() -> None:
    assert re.search(r"excludes=list\(\s*bundle_rules\.EXCLUDED_MODULES", SPEC)
    assert 'runtime_hooks=[str(HERE / "rthook_qt_api.py")]' in SPEC


def test_spec_is_windowed_off_linux_and_bundles_an_app_on_macos() -> None:
    assert "console=LINUX" in SPEC
    assert re.search(r"if MACOS:\s+app = BUNDLE\(", SPEC)
    assert f'APP_ID = "{APP_ID}"' in SPEC


def test_runtime_hook_sets_qt_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_API", "pyqt5")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    runpy.run_path(str(PACKAGING / "rthook_qt_api.py"))
    assert os.environ["QT_API"] == "pyside6"
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


def test_runtime_hook_picks_xcb_with_an_x_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    runpy.run_path(str(PACKAGING / "rthook_qt_api.py"))
    expected = "xcb" if sys.platform.startswith("linux") else None
    assert os.environ.get("QT_QPA_PLATFORM") == expected
