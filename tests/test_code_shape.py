"""The shape of the code under workbench/: what import-linter cannot check.

import-linter (``make lint``, pyproject.toml) owns the layer rules: which ring may import
Qt, asyncio, or a ring above it. This module checks the rest of the house rules that can be
read from the source (HELPERS.md, issue 7):

- no class over 400 lines and no function over 60;
- no private attribute of another object: ``other._thing`` is used only on ``self``/``cls``
  (or the class's own name inside its body), on a module, or as a documented
  ``# WORKAROUND:``;
- and the import-linter contracts themselves run and are all kept, so a broken
  configuration cannot turn the layer check into a silent no-op.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import tokenize
import tomllib
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "workbench"

MAX_CLASS_LINES = 400
MAX_FUNCTION_LINES = 60

#: namedtuple's own API: documented and public, underscored only so that it cannot clash
#: with a field name (https://docs.python.org/3/library/collections.html#collections.namedtuple).
NAMEDTUPLE_API = frozenset({"_asdict", "_field_defaults", "_fields", "_make", "_replace"})

#: Uses of another object's private attribute that are not a call across classes, each with
#: the reason. Keyed by (file, expression); an entry that no longer matches fails the test.
ALLOWED_PRIVATE_USES: dict[tuple[str, str], str] = {
    ("workbench/ui/servers_panel.py", "panel._changed"): (
        "the same object: `panel` is the ServersPanel's own `self` through a weak reference, "
        "so that the server manager, which outlives the panel, does not keep it alive"
    ),
}


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


# ------------------------------------------------------------------------------- size


def _lines(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """From the ``def``/``class`` line to the last line of the body (decorators excluded)."""
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


def oversized(path: Path, shown_as: str) -> list[str]:
    found = []
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.ClassDef) and _lines(node) > MAX_CLASS_LINES:
            found.append(f"{shown_as}:{node.lineno}: class {node.name} ({_lines(node)} lines)")
        elif (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _lines(node) > MAX_FUNCTION_LINES
        ):
            found.append(f"{shown_as}:{node.lineno}: function {node.name} ({_lines(node)} lines)")
    return found


def test_the_size_check_sees_a_long_function_and_a_long_class(tmp_path: Path) -> None:
    def block(header: str, lines: int) -> str:
        return header + "\n" + "".join(f"    x{i} = {i}\n" for i in range(lines - 1)) + "\n\n"

    sample = tmp_path / "sample.py"
    sample.write_text(
        block("def just_fits() -> None:", MAX_FUNCTION_LINES)
        + block("def too_long() -> None:", MAX_FUNCTION_LINES + 1)
        + block("class JustFits:", MAX_CLASS_LINES)
        + block("class TooLong:", MAX_CLASS_LINES + 1),
        encoding="utf-8",
    )
    assert [line.partition(": ")[2] for line in oversized(sample, "sample.py")] == [
        "function too_long (61 lines)",
        "class TooLong (401 lines)",
    ]


def test_no_class_over_400_lines_and_no_function_over_60() -> None:
    found = [line for path in sources() for line in oversized(path, relative(path))]
    assert found == [], "\n".join(found)


# ------------------------------------------------------------------------------- privacy


@dataclass(frozen=True)
class PrivateUse:
    path: str
    line: int
    expression: str

    @property
    def attribute(self) -> str:
        return self.expression.rpartition(".")[2]

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.expression}"


def _is_private(name: str) -> bool:
    dunder = name.startswith("__") and name.endswith("__")
    return name.startswith("_") and not dunder and name not in NAMEDTUPLE_API


def _module(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:  # an import guarded for another platform: not a module here
        return None


def _imported_modules(tree: ast.Module, module_name: str) -> dict[str, types.ModuleType]:
    """Names bound to a module by an import anywhere in the file."""
    modules: dict[str, types.ModuleType] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name if alias.asname else alias.name.partition(".")[0]
                if (module := _module(name)) is not None:
                    modules[alias.asname or name] = module
        elif isinstance(node, ast.ImportFrom):
            base = (
                importlib.util.resolve_name(
                    "." * node.level + (node.module or ""), module_name.rpartition(".")[0]
                )
                if node.level
                else (node.module or "")
            )
            for alias in node.names:
                value = getattr(_module(base), alias.name, None)
                if isinstance(value, types.ModuleType):
                    modules[alias.asname or alias.name] = value
    return modules


def _module_value(node: ast.expr, modules: dict[str, types.ModuleType]) -> object:
    """The module a receiver such as ``ssl`` or ``ssl._ssl`` names, else None."""
    if isinstance(node, ast.Name):
        return modules.get(node.id)
    if isinstance(node, ast.Attribute):
        outer = _module_value(node.value, modules)
        if isinstance(outer, types.ModuleType):
            inner = getattr(outer, node.attr, None)
            return inner if isinstance(inner, types.ModuleType) else None
    return None


def _workaround_names(source: str) -> str:
    """The text of every ``# WORKAROUND:`` comment block (the comment line and the comment
    lines right after it): a private API used there is named, with its reason and link."""
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
    blocks = []
    for line, text in comments.items():
        if "WORKAROUND:" in text:
            block = [text]
            while line + 1 in comments:
                line += 1
                block.append(comments[line])
            blocks.append(" ".join(block))
    return "\n".join(blocks)


class _PrivateUses(ast.NodeVisitor):
    def __init__(self, path: Path, tree: ast.Module, module_name: str) -> None:
        self.path = relative(path) if path.is_relative_to(ROOT) else path.name
        self.modules = _imported_modules(tree, module_name)
        self.classes: list[str] = []
        self.found: list[PrivateUse] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_private(node.attr) and not self._own(node.value):
            self.found.append(PrivateUse(self.path, node.lineno, ast.unparse(node)))
        self.generic_visit(node)

    def _own(self, receiver: ast.expr) -> bool:
        if isinstance(receiver, ast.Name) and (
            receiver.id in ("self", "cls") or receiver.id in self.classes
        ):
            return True
        if (
            isinstance(receiver, ast.Call)
            and isinstance(receiver.func, ast.Name)
            and receiver.func.id == "super"
        ):
            return True
        return isinstance(_module_value(receiver, self.modules), types.ModuleType)


def private_uses(path: Path, module_name: str) -> list[PrivateUse]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, str(path))
    visitor = _PrivateUses(path, tree, module_name)
    visitor.visit(tree)
    documented = _workaround_names(source)
    return [
        use
        for use in visitor.found
        if not re.search(rf"(?<!\w){re.escape(use.attribute)}(?!\w)", documented)
    ]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_private_uses() -> Iterator[PrivateUse]:
    for path in sources():
        yield from private_uses(path, _module_name(path))


def test_the_privacy_check_tells_own_module_and_foreign_uses_apart(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "import os.path\n"
        "\n"
        "class A:\n"
        "    def __init__(self, other):\n"
        "        self._mine = 1\n"
        "        self.__dict__\n"
        "        super()._setup()\n"
        "        A._helper()\n"
        "        other._theirs()\n"
        "        self.other._state\n"
        "        os._exit\n"
        "        os.path._get_sep\n"
        "        other._replace(x=1)\n"
        "\n"
        "    @classmethod\n"
        "    def make(cls):\n"
        "        return cls._build()\n"
        "\n"
        "def f(thing):\n"
        "    thing._poke = 1\n"
        "    # WORKAROUND: ctx._documented is private; reason and link here\n"
        "    thing._documented = 2\n"
        "    thing._document = 3  # a prefix of a documented name is not documented\n",
        encoding="utf-8",
    )
    assert [str(use) for use in private_uses(sample, "sample")] == [
        "sample.py:10: other._theirs",
        "sample.py:11: self.other._state",
        "sample.py:21: thing._poke",
        "sample.py:24: thing._document",
    ]


def test_no_private_attribute_of_another_object_is_used() -> None:
    found = [
        use for use in all_private_uses() if (use.path, use.expression) not in ALLOWED_PRIVATE_USES
    ]
    assert found == [], "\n".join(str(use) for use in found)


def test_every_allowed_private_use_still_exists() -> None:
    used = {(use.path, use.expression) for use in all_private_uses()}
    assert set(ALLOWED_PRIVATE_USES) - used == set()


# ------------------------------------------------------------------------------- import-linter


def test_the_import_linter_contracts_run_and_are_all_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.is_file(), f"{lint_imports} is missing: pip install -e '.[test]'"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = [c["name"] for c in config["tool"]["importlinter"]["contracts"]]
    assert contracts, "pyproject.toml names no import-linter contract"

    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's workbench, not another
    done = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    for name in contracts:
        assert f"{name} KEPT" in report, report
    assert f"Contracts: {len(contracts)} kept, 0 broken." in report, report


def _contract_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names: set[str] = set()
    for contract in config["tool"]["importlinter"]["contracts"]:
        for key in ("source_modules", "forbidden_modules", "layers"):
            for entry in contract.get(key, []):
                # "a | b" is a layer of independent siblings: each must exist.
                names.update(part.strip() for part in entry.split("|"))
    return sorted(name for name in names if name.partition(".")[0] == "workbench")


@pytest.mark.parametrize("name", _contract_modules())
def test_every_module_a_contract_names_exists(name: str) -> None:
    # A contract about a module that is gone, or not written yet, checks nothing.
    assert importlib.util.find_spec(name) is not None
