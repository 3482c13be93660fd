"""packaging/bundle_rules.py: what the frozen bundle keeps and drops."""

from __future__ import annotations

import pytest

from tests.packaging import load

rules = load("bundle_rules")

QT = "PySide6/Qt/plugins"


@pytest.mark.parametrize("module", ["PyQt5", "PyQt6", "PySide2", "tkinter", "unittest"])
def test_excludes_other_bindings_and_unused_stdlib(module: str) -> None:
    assert module in rules.EXCLUDED_MODULES


@pytest.mark.parametrize(
    "module",
    [
        "PySide6.QtCore",
        "PySide6.QtGui",
        "PySide6.QtWidgets",
        "ssl",
        "asyncio",
        "qasync",
        "cryptography",
    ],
)
def test_never_excludes_what_the_program_runs_on(module: str) -> None:
    assert not any(module == m or module.startswith(m + ".") for m in rules.EXCLUDED_MODULES)


@pytest.mark.parametrize(
    "dest",
    [
        f"{QT}/platforms/libqxcb.so",
        f"{QT}/platforms/libqoffscreen.so",
        f"{QT}/platforms/libqminimal.so",
        f"{QT}/xcbglintegrations/libqxcb-glx-integration.so",
        f"{QT}/iconengines/libqsvgicon.so",
        f"{QT}/imageformats/libqsvg.so",
        f"{QT}/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
        f"{QT}/platformthemes/libqxdgdesktopportal.so",
        "PySide6/plugins/platforms/qwindows.dll",  # Windows wheels: no Qt/ level
        "PySide6/plugins/imageformats/qsvg.dll",
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/Qt/plugins/styles/libqmacstyle.dylib",
        "PySide6/Qt/lib/libQt6Gui.so.6",  # not a plugin at all
    ],
)
def test_keeps_the_plugins_in_use(dest: str) -> None:
    assert rules.keep_qt_plugin(dest)


@pytest.mark.parametrize(
    "dest",
    [
        f"{QT}/platformthemes/libqgtk3.so",
        f"{QT}/platforms/libqwayland.so",
        f"{QT}/platforms/libqeglfs.so",
        f"{QT}/platforms/libqvnc.so",
        f"{QT}/platforms/libqlinuxfb.so",
        f"{QT}/platforms/libqminimalegl.so",
        f"{QT}/platforms/libqvkkhrdisplay.so",
        f"{QT}/wayland-shell-integration/libxdg-shell.so",
        f"{QT}/egldeviceintegrations/libqeglfs-x11-integration.so",
        f"{QT}/tls/libqopensslbackend.so",
        f"{QT}/networkinformation/libqnetworkmanager.so",
        f"{QT}/generic/libqtuiotouchplugin.so",
        f"{QT}/imageformats/libqjpeg.so",
        f"{QT}/imageformats/libqpdf.so",
        "PySide6\\plugins\\tls\\qschannelbackend.dll",
        "PySide6/plugins/imageformats/qjpeg.dll",
    ],
)
def test_drops_the_plugins_not_in_use(dest: str) -> None:
    assert not rules.keep_qt_plugin(dest)


def test_drops_qt_translations_keeps_other_data() -> None:
    assert not rules.keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert not rules.keep_data("PySide6/Qt/translations/qt_help_fr.qm")
    assert rules.keep_data("resources/socket-workbench.svg")
    assert rules.keep_data("certifi/cacert.pem")


def test_prune_keeps_what_is_reached_and_drops_the_rest() -> None:
    binaries = [
        ("PySide6/QtGui.abi3.so", "/v/QtGui.abi3.so", "EXTENSION"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/v/libQt6Gui.so.6", "BINARY"),
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ("PySide6/Qt/lib/libQt6DBus.so.6", "/v/libQt6DBus.so.6", "BINARY"),
        ("libdbus-1.so.3", "/usr/lib/libdbus-1.so.3", "BINARY"),
        (f"{QT}/platforms/libqxcb.so", "/v/libqxcb.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", "/v/libQt6XcbQpa.so.6", "BINARY"),
        (f"{QT}/platformthemes/libqgtk3.so", "/v/libqgtk3.so", "BINARY"),
        ("libcairo.so.2", "/usr/lib/libcairo.so.2", "BINARY"),
        (f"{QT}/platforms/libqwayland.so", "/v/libqwayland.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6WaylandClient.so.6", "/v/libQt6WaylandClient.so.6", "BINARY"),
        ("libstdc++.so.6", "/usr/lib/libstdc++.so.6", "BINARY"),
        ("libpython3.11.so.1.0", "/py/libpython3.11.so.1.0", "BINARY"),
        ("libz.so.1", "/usr/lib/libz.so.1", "BINARY"),
    ]
    links = {
        "/v/QtGui.abi3.so": ["libQt6Gui.so.6", "libstdc++.so.6", "libGL.so.1"],
        "/v/libQt6Gui.so.6": ["libQt6DBus.so.6", "libstdc++.so.6"],
        "/v/libQt6DBus.so.6": ["libdbus-1.so.3"],
        "/v/libqxcb.so": ["libQt6XcbQpa.so.6", "libQt6Gui.so.6"],
        "/v/libqgtk3.so": ["libcairo.so.2", "libQt6DBus.so.6"],
        "/v/libqwayland.so": ["libQt6WaylandClient.so.6"],
        "/py/libpython3.11.so.1.0": ["libz.so.1"],
    }
    kept, dropped = rules.prune_binaries(
        binaries, lambda src: links.get(src, []), ["libpython3.11.so.1.0"]
    )
    kept_names = {dest for dest, _src, _tc in kept}
    assert kept_names == {
        "PySide6/QtGui.abi3.so",
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "libQt6Gui.so.6",
        "PySide6/Qt/lib/libQt6DBus.so.6",
        "libdbus-1.so.3",
        f"{QT}/platforms/libqxcb.so",
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
        "libpython3.11.so.1.0",
        "libz.so.1",
    }
    assert {dest for dest, _src, _tc in dropped} == {
        f"{QT}/platformthemes/libqgtk3.so",
        "libcairo.so.2",
        f"{QT}/platforms/libqwayland.so",
        "PySide6/Qt/lib/libQt6WaylandClient.so.6",
        "libstdc++.so.6",  # the system's, always: Mesa's drivers need it to match
    }
    assert len(kept) + len(dropped) == len(binaries)


@pytest.mark.parametrize(
    "item",
    [
        "coll/root.res",
        "coll/sv.res",
        "coll/ucadata.icu",
        "coll/de__PHONEBOOK.res",
        "nfkc.nrm",
        "uts46.nrm",
        "root.res",
        "en.res",
        "en_GB.res",
        "pool.res",
        "likelySubtags.res",
        "supplementalData.res",
        "zoneinfo64.res",
        "zone/en.res",
        "cnvalias.icu",
    ],
)
def test_icu_keeps_collation_normalisation_english_and_time_zones(item: str) -> None:
    assert rules.keep_icu_item(item)


@pytest.mark.parametrize(
    "item",
    [
        "ibm-943_P15A-2003.cnv",
        "gb18030.cnv",
        "de.res",
        "sv.res",
        "unames.icu",
        "brkitr/char.brk",
        "brkitr/cjdict.dict",
        "translit/root.res",
        "curr/en.res",
        "lang/root.res",
        "zone/de.res",
        "rbnf/en.res",
    ],
)
def test_icu_drops_converters_and_what_qt_takes_elsewhere(item: str) -> None:
    assert not rules.keep_icu_item(item)


def test_links_to_pruned_libraries_are_dropped() -> None:
    kept = [
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/v/libQt6Gui.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "/v/libQt6Core.so.6", "BINARY"),
    ]
    links = [
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
        ("PySide6/Qt/lib/libQt6Core.so", "libQt6Core.so.6", "SYMLINK"),
        ("PySide6/Qt/lib/libQt6Svg.so", "libQt6Svg.so.6", "SYMLINK"),
        # A link to a link is not a file: it goes too.
        ("libGui.so", "libQt6Gui.so.6", "SYMLINK"),
    ]
    data = [("resources/socket-workbench.svg", "/r/socket-workbench.svg", "DATA")]
    entries = kept + links + data
    assert rules.drop_dangling_symlinks(entries, entries) == [
        *kept,
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ("PySide6/Qt/lib/libQt6Core.so", "libQt6Core.so.6", "SYMLINK"),
        *data,
    ]
