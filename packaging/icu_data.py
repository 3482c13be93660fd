"""ICU's data library cut down to what Qt uses here (``bundle_rules.keep_icu_item``).

    python packaging/icu_data.py path/to/libicudata.so.73 OUT_DIR

PySide6's wheels carry ICU 73's data library, ``libicudata.so.73``: 32 MB holding every locale's
data, break dictionaries, transliterators and 200-odd legacy-encoding converters. Qt Core uses
ICU for collation (``QCollator``, and through it sorting in file dialogs), case mapping,
time-zone names and, only as a fallback, legacy encodings (this program encodes through
Python's codecs). An empty data library is no way out: ``QCollator`` then compares code points.

The library is one symbol, ``icudt<NN>_dat``, holding ICU's "common data" package (the
``.dat`` format that ICU's own ``icupkg`` reads and writes). So, with ICU's and binutils' tools
and nothing compiled:

1. the package is copied out of the library's symbol (``icudt73l.dat``);
2. ``icupkg -l`` lists its items and ``icupkg -r`` removes those ``keep_icu_item`` rejects;
3. ``as`` wraps the smaller package in a data symbol of the same name (``.incbin``), and
   ``ld -shared`` makes it a library of the same soname.

The tools: ``icupkg`` (Debian's ``icu-devtools``; an older ICU's icupkg does: it copies items
without reading them) and ``as``/``ld`` (``binutils``), both in ``packaging/sysdeps.sh``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bundle_rules

__all__ = ["common_data", "filter_library", "icupkg"]

_SYMBOL = re.compile(rb"icudt\d+_dat")
_PT_LOAD = 1
_SHT_DYNSYM = 11


def common_data(library: bytes) -> tuple[str, bytes]:
    """The data symbol's name (``icudt73_dat``) and bytes in an x86-64 ELF data library."""
    if library[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not a 64-bit little-endian ELF file")
    phoff, shoff = struct.unpack_from("<QQ", library, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", library, 0x36)
    segments = []  # (vaddr, file offset, file size) of each loaded segment
    for i in range(phnum):
        p_type, _flags, offset, vaddr, _paddr, filesz = struct.unpack_from(
            "<IIQQQQ", library, phoff + i * phentsize
        )
        if p_type == _PT_LOAD:
            segments.append((vaddr, offset, filesz))
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", library, shoff + i * shentsize) for i in range(shnum)
    ]
    for _name, sh_type, _f, _a, offset, size, link, _i, _al, entsize in sections:
        if sh_type != _SHT_DYNSYM:
            continue
        strtab = sections[link][4]
        for pos in range(offset, offset + size, entsize):
            st_name, _info, _other, _shndx, value, st_size = struct.unpack_from(
                "<IBBHQQ", library, pos
            )
            end = library.index(b"\0", strtab + st_name)
            name = library[strtab + st_name : end]
            if not _SYMBOL.fullmatch(name) or not st_size:
                continue
            for vaddr, file_offset, filesz in segments:
                if vaddr <= value and value + st_size <= vaddr + filesz:
                    start = file_offset + value - vaddr
                    return name.decode(), library[start : start + st_size]
    raise ValueError("no icudt<NN>_dat symbol with data in it")


def icupkg() -> str:
    """The icupkg program: Debian installs it in /usr/sbin, which users' PATH may lack."""
    found = shutil.which("icupkg", path=os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin")))
    if found is None:
        raise RuntimeError("icupkg is missing: install icu-devtools (packaging/sysdeps.sh)")
    return found


def _run(*cmd: str | Path) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def filter_library(source: Path, out_dir: Path) -> Path:
    """Write ``out_dir/<source's name>``: ``source`` with only the items ``keep_icu_item``
    accepts, and ``out_dir/icu-items.txt``, the items it kept. Returns the new library."""
    symbol, data = common_data(source.read_bytes())
    # icupkg names the items after the package file: "icudt73l/coll/root.res" (l: little-endian).
    package = symbol.removesuffix("_dat") + "l.dat"
    shutil.rmtree(out_dir, ignore_errors=True)
    (out_dir / "full").mkdir(parents=True)
    (out_dir / "kept").mkdir()
    full, kept = out_dir / "full" / package, out_dir / "kept" / package
    full.write_bytes(data)
    tool = icupkg()
    items = _run(tool, "-l", full).split()
    remove = [item for item in items if not bundle_rules.keep_icu_item(item)]
    if len(remove) == len(items):
        raise RuntimeError(f"{source}: none of its {len(items)} items would be kept")
    (out_dir / "remove.txt").write_text("".join(f"{i}\n" for i in remove), encoding="utf-8")
    _run(tool, "-r", out_dir / "remove.txt", full, kept)
    left = _run(tool, "-l", kept).split()
    (out_dir / "icu-items.txt").write_text("".join(f"{i}\n" for i in left), encoding="utf-8")
    # The symbol as ICU's genccode declares it: global, 16-byte aligned, in read-only data.
    (out_dir / "data.s").write_text(
        '\t.section .note.GNU-stack,"",%progbits\n'
        "\t.section .rodata\n"
        "\t.balign 16\n"
        f"\t.globl {symbol}\n"
        f"\t.type {symbol},%object\n"
        f"{symbol}:\n"
        f'\t.incbin "{kept}"\n'
        f"\t.size {symbol}, .-{symbol}\n",
        encoding="utf-8",
    )
    _run("as", "--64", "-o", out_dir / "data.o", out_dir / "data.s")
    library = out_dir / source.name
    soname = re.match(r"lib\w+\.so\.\d+", source.name)
    if soname is None:
        raise ValueError(f"{source.name} is not a versioned library name")
    _run(
        "ld", "-shared", "-z", "noexecstack", "-soname", soname.group(0),
        "-o", library, out_dir / "data.o",
    )  # fmt: skip
    for scratch in ("full", "kept"):
        shutil.rmtree(out_dir / scratch)
    (out_dir / "data.o").unlink()
    return library


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    source, out_dir = Path(argv[0]), Path(argv[1])
    library = filter_library(source, out_dir)
    kept = (out_dir / "icu-items.txt").read_text(encoding="utf-8").count("\n")
    print(
        f"icu_data: {library}: {library.stat().st_size / 1e6:.1f} MB, {kept} items "
        f"(was {source.stat().st_size / 1e6:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
