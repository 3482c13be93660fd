"""Layer rules read straight from the source, as a backstop to the import-linter contracts.

import-linter (``make lint``) checks direct and indirect imports, but a forbidden contract
cannot name a module that does not exist yet, so the facade ``workbench.sockets`` is covered
here. Only direct imports are seen; that is enough to catch the usual slip.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "workbench"
QT = {"PySide6", "shiboken6", "qasync"}

# part of the package -> top-level modules it must not import
RULES: dict[str, set[str]] = {
    "core": QT | {"asyncio"},
    "net": QT,
    "sockets": QT,
}


def _sources(part: str) -> list[Path]:
    package, module = PACKAGE / part, PACKAGE / f"{part}.py"
    if package.is_dir():
        return sorted(package.rglob("*.py"))
    return [module] if module.is_file() else []


def _imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


@pytest.mark.parametrize("part", sorted(RULES))
def test_layer_does_not_import_forbidden_modules(part: str) -> None:
    offences = {
        str(path.relative_to(PACKAGE.parent)): sorted(_imported_top_levels(path) & RULES[part])
        for path in _sources(part)
    }
    assert not {path: names for path, names in offences.items() if names}
