"""packaging/icu_data.py: ICU's data library cut down, with ICU's icupkg and binutils."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import PySide6

import pytest

from tests.packaging import load, tool

icu = load("icu_data")

#: The data library PySide6's wheel carries (the one the package bundles).
LIBRARIES = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not LIBRARIES,
    reason="PySide6 bundles ICU on Linux only",
)

#: Run with the filtered library first on the search path: prints the collation orders and
#: which data library the process loaded.
PROBE = """
from functools import cmp_to_key
from PySide6.QtCore import QCollator, QLocale
for name in ("en_US", "sv_SE"):
    collator = QCollator(QLocale(name))
    print(name, " ".join(sorted(["c", "B", "z", "\\u00e4", "a"], key=cmp_to_key(collator.compare))))
maps = open("/proc/self/maps").read().split()
print(sorted({p for p in maps if "libicudata" in p}))
"""


def test_the_data_is_an_icu_common_data_package() -> None:
    symbol, data = icu.common_data(LIBRARIES[0].read_bytes())
    assert symbol == f"icudt{LIBRARIES[0].name.rsplit('.', 1)[1]}_dat"
    assert data[2:4] == b"\xda\x27"  # ICU's data header magic
    assert data[12:16] == b"CmnD"  # the common data format


def test_other_files_are_refused() -> None:
    with pytest.raises(ValueError, match="not a 64-bit"):
        icu.common_data(b"#!/bin/sh\n")
    # libicuuc only refers to the symbol: it has no data.
    uc = next(LIBRARIES[0].parent.glob("libicuuc.so.*"))
    with pytest.raises(ValueError, match="no icudt"):
        icu.common_data(uc.read_bytes())


def test_the_cut_down_library_collates_as_the_full_one(tmp_path: Path) -> None:
    tool("as", "binutils")
    tool("ld", "binutils")
    try:
        icu.icupkg()
    except RuntimeError as exc:  # as tool() does: a failure in CI, a skip elsewhere
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    full = LIBRARIES[0]
    library = icu.filter_library(full, tmp_path / "icu")
    assert library == tmp_path / "icu" / full.name
    assert library.stat().st_size < full.stat().st_size / 4
    items = (tmp_path / "icu" / "icu-items.txt").read_text(encoding="utf-8").split()
    assert {"coll/root.res", "coll/sv.res", "coll/ucadata.icu", "root.res", "en.res"} <= set(items)
    assert not [item for item in items if item.endswith(".cnv")]
    assert icu.common_data(library.read_bytes())[0] == icu.common_data(full.read_bytes())[0]

    env = dict(os.environ, LD_LIBRARY_PATH=str(library.parent))
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "en_US a ä B c z"
    assert out[1] == "sv_SE a B c z ä"  # Swedish data: ä after z
    assert out[2] == repr([str(library)])
