"""Socket Workbench: a desktop tool for testing TCP and TLS servers.

The core implements Chrome's ``chrome.sockets.tcp`` API on asyncio (``workbench.sockets``);
the window is PySide6 on the qasync loop.
"""

# The one place the version lives: pyproject.toml reads it through
# [tool.setuptools.dynamic], and the app prints it.
__version__ = "0.1.0"
