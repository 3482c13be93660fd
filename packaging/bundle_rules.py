"""What goes into the frozen bundle: the rules ``socket-workbench.spec`` applies, kept in plain
Python so that ``tests/packaging`` can check them without running PyInstaller.

The program imports QtCore, QtGui and QtWidgets only (plus the SVG icon engine for its icon);
its sockets and TLS are Python's ``asyncio`` and ``ssl``, never QtNetwork. PyInstaller's Qt hooks
collect every plugin of every category QtGui might use, and each plugin drags in its libraries
(the GTK theme: GTK, cairo, pango; the Wayland and EGLFS platforms: their Qt libraries; the
TLS and network-information plugins: QtNetwork). The rules below keep only what the program
runs with and then drop every bundled library that nothing kept still links to.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

#: Python modules never to bundle: the other Qt bindings (qasync imports whichever it finds,
#: and PyInstaller refuses to bundle two), Qt modules we do not import, and the parts of the
#: standard library a GUI program does not run.
OTHER_QT_BINDINGS: tuple[str, ...] = ("PyQt5", "PyQt6", "PySide2")
EXCLUDED_MODULES: tuple[str, ...] = (
    *OTHER_QT_BINDINGS,
    "PySide6.QtNetwork",
    "PySide6.QtDBus",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtPdf",
    "PySide6.QtPrintSupport",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtXml",
    "PySide6.QtConcurrent",
    "PySide6.QtDesigner",
    "PySide6.QtUiTools",
    "PySide6.QtHelp",
    "tkinter",
    "_tkinter",
    "turtle",
    "idlelib",
    "lib2to3",
    "pydoc",
    "pydoc_data",
    "doctest",
    "unittest",
    "test",
    "ensurepip",
    "venv",
    "pip",
    "setuptools",
    "pkg_resources",
    "distutils",
    "sqlite3",
    "curses",
    "xmlrpc",
)

#: Qt plugins to keep, as globs of the file name per plugin category (the plugin directory).
#: A category that is not listed is dropped whole.
KEEP_QT_PLUGINS: dict[str, tuple[str, ...]] = {
    # X11, plus offscreen (the self-test, CI) and minimal. No wayland*/eglfs/vnc/linuxfb/vkkhr:
    # on a Wayland desktop the program runs through XWayland (the runtime hook picks xcb).
    # Windows and macOS keep their native platform plugin.
    "platforms": (
        "*qxcb*",
        "*qoffscreen*",
        "*qminimal.*",
        "qminimal.dll",
        "*qwindows*",
        "*qcocoa*",
    ),
    # OpenGL integration of the xcb platform (small; Qt looks for one at start).
    "xcbglintegrations": ("*",),
    # The portal theme (file dialogs in sandboxes) and Windows/macOS styles; not gtk3, which
    # pulls GTK, GDK, cairo, pango and their libraries.
    "platformthemes": ("*xdgdesktopportal*",),
    "styles": ("*",),
    # Compose keys and IBus input methods; not the virtual keyboard (QtQuick).
    "platforminputcontexts": ("*compose*", "*ibus*"),
    # The icon is an SVG (QIcon → the SVG icon engine); .ico for Windows' icons. PNG is built
    # into QtGui.
    "iconengines": ("*qsvgicon*",),
    "imageformats": ("*qsvg*", "*qico*"),
}

#: Qt's own translations are loaded only by a program that installs a QTranslator for them;
#: this one is English only.
KEEP_TRANSLATIONS: tuple[str, ...] = ()

#: Libraries never bundled even when linked: they belong to the system's graphics stack (or
#: must match it). The system's Mesa drivers, loaded by the system's libGL, need the system's
#: C++ runtime; a bundled older libstdc++ would be found first and break them on newer
#: distributions ("GLIBCXX_3.4.xx not found").
SYSTEM_LIBRARIES: tuple[str, ...] = (
    "libstdc++.so.*",
    "libgcc_s.so.*",
)


#: ICU's data items to keep in the data library (``icu_data.py`` removes the rest), as globs of
#: the item names ``icupkg -l`` prints. Qt Core calls ICU for collation, case mapping,
#: time-zone names and legacy encodings (``nm -D --undefined-only libQt6Core.so.6``); the
#: program's encodings go through Python's codecs, so the converters (``*.cnv``) go, and with
#: them the break dictionaries, transliterators, character names and the display names of
#: languages, regions, currencies and units, which Qt takes from its own CLDR tables.
KEEP_ICU_DATA: tuple[str, ...] = (
    # Collation for every language: QCollator follows the user's locale (file dialogs sort
    # with it), and a Swedish "ä" sorts after "z" only with coll/sv.res.
    "coll/*",
    # Normalisation (NFC is built into libicuuc; NFKC and UTS #46 are data).
    "*.nrm",
    # Locale data for the interface's language: root and English, and the bundles they share.
    "root.res",
    "en.res",
    "en_*.res",
    "pool.res",
    "res_index.res",
    # What locale lookups and calendars read: likely subtags, aliases, keyword types (the
    # "co" in de@collation=phonebook), week data.
    "likelySubtags.res",
    "metadata.res",
    "keyTypeData.res",
    "supplementalData.res",
    "icuver.res",
    "icustd.res",
    # The converters' alias table (64 KB): names still resolve; UTF-8/16/32 need no data.
    "cnvalias.icu",
    # Time zones: the rules, their canonical ids, and names in English.
    "zoneinfo64.res",
    "timezoneTypes.res",
    "metaZones.res",
    "windowsZones.res",
    "zone/root.res",
    "zone/en.res",
    "zone/en_*.res",
    "zone/pool.res",
    "zone/res_index.res",
    "zone/tzdbNames.res",
)


def keep_icu_item(item: str) -> bool:
    """True for an ICU data item (``coll/de.res``, ``ibm-943_P15A-2003.cnv``) to keep."""
    return any(fnmatch.fnmatchcase(item, pattern) for pattern in KEEP_ICU_DATA)


def _parts(dest: str) -> tuple[str, ...]:
    return PurePosixPath(dest.replace("\\", "/")).parts


def qt_plugin_category(dest: str) -> str | None:
    """The plugin category of a bundled file, or None for anything not a Qt plugin. PySide6
    keeps its plugins in ``PySide6/Qt/plugins/<category>/`` (Linux, macOS) or
    ``PySide6/plugins/<category>/`` (Windows)."""
    parts = _parts(dest)
    for i in range(1, len(parts) - 2):
        if parts[i] == "plugins" and parts[i - 1] in ("Qt", "Qt6", "PySide6"):
            return parts[i + 1]
    return None


def keep_qt_plugin(dest: str) -> bool:
    """False for a Qt plugin the program does not use; True for anything else."""
    category = qt_plugin_category(dest)
    if category is None:
        return True
    name = _parts(dest)[-1]
    return any(fnmatch.fnmatch(name, pattern) for pattern in KEEP_QT_PLUGINS.get(category, ()))


def keep_data(dest: str) -> bool:
    """False for Qt translations (except ``KEEP_TRANSLATIONS``) and unused plugins' data."""
    parts = _parts(dest)
    if "translations" in parts and any(p in ("Qt", "Qt6") for p in parts):
        return any(fnmatch.fnmatch(parts[-1], pattern) for pattern in KEEP_TRANSLATIONS)
    return keep_qt_plugin(dest)


def is_system_library(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in SYSTEM_LIBRARIES)


Entry = tuple[str, str, str]  # PyInstaller's TOC entry: (dest_name, src_name, typecode)


def prune_binaries(
    binaries: Iterable[Entry],
    needed: Callable[[str], Iterable[str]],
    extra_roots: Iterable[str] = (),
) -> tuple[list[Entry], list[Entry]]:
    """Drop unused Qt plugins, then every shared library that nothing kept links to.

    The roots are the Python extension modules (typecode ``EXTENSION``), the kept Qt plugins
    and the names in ``extra_roots`` (the Python library, which the bootloader opens itself).
    ``needed(src)`` gives the library names a binary links to (ELF ``DT_NEEDED``). A library is
    kept when some root reaches it by name. Returns ``(kept, dropped)``.
    """
    entries = list(binaries)
    by_name: dict[str, list[Entry]] = {}
    for entry in entries:
        by_name.setdefault(_parts(entry[0])[-1], []).append(entry)

    roots: list[Entry] = []
    for entry in entries:
        dest, _src, typecode = entry
        if typecode == "EXTENSION" or (
            qt_plugin_category(dest) is not None and keep_qt_plugin(dest)
        ):
            roots.append(entry)
    extra = set(extra_roots)
    roots += [e for e in entries if _parts(e[0])[-1] in extra]

    reached: set[str] = set()
    todo = [e[1] for e in roots if e[2] != "SYMLINK"]
    seen_src: set[str] = set()
    while todo:
        src = todo.pop()
        if src in seen_src:
            continue
        seen_src.add(src)
        for name in needed(src):
            if name in reached or name not in by_name:
                continue
            reached.add(name)
            todo += [e[1] for e in by_name[name] if e[2] != "SYMLINK"]

    root_ids = {id(e) for e in roots}
    kept: list[Entry] = []
    dropped: list[Entry] = []
    for entry in entries:
        name = _parts(entry[0])[-1]
        if is_system_library(name):
            dropped.append(entry)
        elif id(entry) in root_ids or name in reached:
            kept.append(entry)
        else:
            dropped.append(entry)
    return kept, dropped


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def drop_dangling_symlinks(entries: Iterable[Entry], files: Iterable[Entry]) -> list[Entry]:
    """``entries`` without the symbolic links whose target is none of ``files``.

    PyInstaller adds a ``SYMLINK`` entry to the top folder (``dest`` → ``src``, a path relative
    to ``dest``'s folder) for each Qt library it collects in a sub-folder, among the data
    files; pruning the library (``prune_binaries``) leaves its link behind, pointing at nothing.
    """
    targets = {posixpath.normpath(_posix(dest)) for dest, _src, tc in files if tc != "SYMLINK"}
    kept = []
    for entry in entries:
        dest, src, typecode = entry
        link = posixpath.normpath(posixpath.join(posixpath.dirname(_posix(dest)), _posix(src)))
        if typecode != "SYMLINK" or link in targets:
            kept.append(entry)
    return kept
