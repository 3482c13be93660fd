"""PySide6's check of every imported module, answered without keeping its source in memory.

PySide6 looks at every module imported after it, for its ``__feature__`` switches such as
``snake_case`` (PYSIDE-2029), and decides whether a module "uses PySide" by reading its whole
source with ``inspect.getsource`` and looking for the word "PySide6". ``inspect`` reads through
``linecache``, which keeps every source it read for the life of the program: measured on the
window's start, 226 modules and 3.2 MiB of source text (2.8 MiB of the 11 MiB that importing
the window's modules allocates), and about 25 ms.

The answer does not need the cache: a module with a source file is read once, as bytes, and
nothing is kept; anything else (a built-in module, one without source) goes to PySide6's own
check. The answer is the one PySide6 would give (``tests/ui/test_pyside_feature.py`` compares
them); it matters only to modules that select a feature, and this program selects none.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

import PySide6  # noqa: F401  # installs the check this module replaces

__all__ = ["install", "uses_pyside"]

# WORKAROUND: shiboken's private feature module and its ``_mod_uses_pyside``, which its
# ``feature_imported`` looks up by name for every import (PySide6 6.8-6.11; see
# https://bugreports.qt.io/browse/PYSIDE-2029 for why the check exists). Where a release has
# neither, nothing is replaced.
_FEATURE_MODULE = "shibokensupport.feature"
_CHECK = "_mod_uses_pyside"

def uses_pyside(module: ModuleType, fallback: Callable[[ModuleType], bool]) -> bool:
    """Whether ``module``'s source mentions "PySide6", as PySide6's own check answers."""
    path = getattr(module, "__file__", None)
    if isinstance(path, str) and path.endswith(".py"):
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            pass
    return fallback(module)


def install() -> bool:
    """Replace PySide6's check (once); False where this PySide6 has none to replace."""
    feature = sys.modules.get(_FEATURE_MODULE)
    original = getattr(feature, _CHECK, None)
    if feature is None or not callable(original):
        return False
    if getattr(original, "__wrapped__", None) is not None:
        return True  # ours already

    def check(module: ModuleType) -> bool:
        return uses_pyside(module, original)

    check.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(feature, _CHECK, check)
    return True


install()
