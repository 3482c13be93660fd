"""The window (PySide6 on the qasync loop): the only package besides ``workbench.app`` that
imports Qt. ``bridge`` is the one crossing between Qt and asyncio; see docs/architecture.md."""

# First: PySide6 checks every module imported after it, and would keep each one's source.
from workbench.ui import pyside_feature as _pyside_feature  # noqa: F401
