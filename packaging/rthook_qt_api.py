# PyInstaller runtime hook: runs in the frozen program before any of its own imports.
#
# qasync imports whichever Qt binding it finds first unless QT_API names one; the bundle has
# PySide6 only, so say so before anything imports qasync.
import os
import sys

os.environ["QT_API"] = "pyside6"

# The Linux bundle carries the xcb platform but not the Wayland one (see bundle_rules.py). On a
# Wayland desktop Qt would first try "wayland", warn that the plugin is missing and then fall
# back; with an X server (XWayland) at hand, go to xcb straight away.
if (
    sys.platform.startswith("linux")
    and "QT_QPA_PLATFORM" not in os.environ
    and os.environ.get("DISPLAY")
):
    os.environ["QT_QPA_PLATFORM"] = "xcb"
