"""The floor for ``startup.py``: an empty PySide6 + qasync window and nothing else.

What every program built like Socket Workbench pays before its own code runs: the interpreter,
PySide6's QtCore, QtGui and QtWidgets, asyncio, qasync's loop, a QApplication and one shown
``QMainWindow``. It runs until it is terminated (SIGTERM ends it: no handler is installed).
"""

from __future__ import annotations

import asyncio
import os
import sys

# As the app does: PySide6 first (and QT_API), or qasync may pick another Qt binding.
os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtWidgets import QApplication, QMainWindow

import qasync


async def _forever() -> None:
    await asyncio.get_running_loop().create_future()


def main() -> None:
    app = QApplication(sys.argv)
    window = QMainWindow()
    window.setWindowTitle("bare PySide6 + qasync window")
    window.resize(1024, 700)
    window.show()
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        runner.run(_forever())


if __name__ == "__main__":
    main()
