"""workbench.ui.pyside_feature: PySide6's check of imported modules, answered as PySide6 would
and without keeping their sources in ``linecache``."""

from __future__ import annotations

import importlib
import inspect
import linecache
import sys
import types
from pathlib import Path

import PySide6

from workbench.ui import pyside_feature

#: The PySide6 releases whose private check this replaces (pyproject.toml's range).
CHECKED = ("6.8", "6.9", "6.10", "6.11")


def _feature() -> types.ModuleType:
    return sys.modules["shibokensupport.feature"]


def _original(module: types.ModuleType) -> bool:
    """PySide6's own answer (its check reads the source through inspect)."""
    try:
        return "PySide6" in inspect.getsource(module)
    except (TypeError, OSError, SyntaxError):
        return False


def test_the_check_it_replaces_is_there_and_replaced() -> None:
    assert PySide6.__version__.startswith(CHECKED)
    check = _feature()._mod_uses_pyside
    assert getattr(check, "__wrapped__", None) is not None  # ours, installed by workbench.ui
    assert pyside_feature.install() is True  # idempotent


def test_our_modules_get_the_answer_their_sources_give() -> None:
    names = [
        "workbench.ui.theme",
        "workbench.ui.main_window",
        "workbench.app",
        "workbench.core.formatting",
        "workbench.net.tcp",
        "workbench.session.registry",
        "workbench",
    ]
    for name in names:
        module = importlib.import_module(name)
        assert pyside_feature.uses_pyside(module, _original) is _original(module), name


def test_other_modules_are_read_without_the_cache(tmp_path: Path) -> None:
    mentions = tmp_path / "mentions_qt.py"
    mentions.write_text('"""Imports PySide6 somewhere."""\n')
    plain = tmp_path / "plain_module.py"
    plain.write_text("X = 1\n")
    for path, expected in ((mentions, True), (plain, False)):
        module = types.ModuleType(path.stem)
        module.__file__ = str(path)
        assert pyside_feature.uses_pyside(module, _original) is expected
        assert str(path) not in linecache.cache
    builtin = sys.modules["sys"]  # no source: PySide6's own check answers
    assert pyside_feature.uses_pyside(builtin, _original) is False


def test_a_module_imported_now_leaves_no_source_behind(tmp_path: Path) -> None:
    source = tmp_path / "fresh_module_for_the_check.py"
    source.write_text("from PySide6 import QtCore  # uses PySide6\nVALUE = 2\n")
    sys.path.insert(0, str(tmp_path))
    names: dict[str, object] = {}
    try:
        exec("import fresh_module_for_the_check", names)  # an import statement, as PySide6 hooks
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fresh_module_for_the_check", None)
    module = names["fresh_module_for_the_check"]
    assert isinstance(module, types.ModuleType) and module.VALUE == 2
    assert str(source) not in linecache.cache
    assert _feature().pyside_feature_dict["fresh_module_for_the_check"] == 0
