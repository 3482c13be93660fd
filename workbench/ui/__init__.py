"""The window (PySide6 on the qasync loop): the only package besides ``workbench.app`` that
imports Qt. ``bridge`` is the one crossing between Qt and asyncio; see docs/architecture.md."""
