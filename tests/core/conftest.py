"""Fixtures of the core's tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, to fill up."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mount.returncode:
        pytest.skip(f"cannot mount a 1 MiB tmpfs to fill (needs root): {mount.stderr.strip()}")
    try:
        yield folder
    finally:
        # Lazy: a failed test's open file must not turn into a second error here.
        subprocess.run(["umount", "-l", str(folder)], check=True)
