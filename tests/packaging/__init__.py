"""Helpers for the packaging tests: load the scripts in packaging/ (a folder of scripts, not a
package: the name would shadow PyPI's ``packaging``) and find the validators."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
RESOURCES = ROOT / "resources"
APP_ID = "io.github.socketworkbench.SocketWorkbench"


def load(name: str) -> ModuleType:
    """packaging/<name>.py as a module (cached in sys.modules under a private name)."""
    key = f"_socket_workbench_packaging_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def tool(name: str, package: str) -> str:
    """The validator's path. Missing: a failure in CI (packaging/sysdeps.sh installs it there),
    a skip naming the fix elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is missing: apt-get install {package} (or run packaging/sysdeps.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
