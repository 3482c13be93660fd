"""The desktop file and the AppStream metainfo (packaging/assemble.py fills in the template):
both validate, and they agree with each other and with the version's one source."""

from __future__ import annotations

import configparser
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import workbench
from tests.packaging import APP_ID, RESOURCES, load, tool

assemble = load("assemble")
DESKTOP = RESOURCES / f"{APP_ID}.desktop"


@pytest.fixture
def metainfo_file(tmp_path: Path) -> Path:
    path = tmp_path / f"{APP_ID}.metainfo.xml"
    path.write_text(assemble.metainfo(workbench.__version__, "2026-01-31"), encoding="utf-8")
    return path


def test_desktop_file_validates() -> None:
    proc = subprocess.run(
        [tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "", proc.stdout  # not even a hint


def test_metainfo_validates(metainfo_file: Path) -> None:
    proc = subprocess.run(
        [tool("appstreamcli", "appstream"), "validate", "--no-net", str(metainfo_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "E:" not in proc.stdout and "W:" not in proc.stdout, proc.stdout


def test_metainfo_release_is_the_package_version(metainfo_file: Path) -> None:
    root = ET.parse(metainfo_file).getroot()
    assert root.findtext("id") == APP_ID
    releases = root.findall("releases/release")
    assert [(r.get("version"), r.get("date")) for r in releases] == [
        (workbench.__version__, "2026-01-31")
    ]
    assert root.findtext("project_license") == "MIT"
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == DESKTOP.name
    assert root.findtext("provides/binary") == "socket-workbench"


def test_metainfo_template_refuses_a_leftover_placeholder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    template = tmp_path / f"{APP_ID}.metainfo.xml.in"
    template.write_text("<component><name>@NAME@</name></component>", encoding="utf-8")
    monkeypatch.setattr(assemble, "RESOURCES", tmp_path)
    with pytest.raises(SystemExit, match="placeholder"):
        assemble.metainfo("1.0", "2026-01-31")


def test_desktop_file_names_the_program_and_the_icon() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Exec"].split()[0] == "socket-workbench"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert entry["StartupWMClass"] == "socket-workbench"


def test_the_app_id_is_the_same_everywhere() -> None:
    assert assemble.APP_ID == APP_ID
    assert load("render_icons").APP_ID == APP_ID
    script = (RESOURCES.parent / "packaging" / "package_test.sh").read_text(encoding="utf-8")
    assert f"APP_ID={APP_ID}\n" in script


def test_the_version_is_read_not_written() -> None:
    # One source: workbench.__version__. No packaging script or template spells a version out
    # (as a string, or in a file name such as socket-workbench_<v>_amd64.deb).
    spelled = re.compile(r"[\"'_-]" + re.escape(workbench.__version__) + r"[\"'_-]")
    scripts = [
        *(RESOURCES.parent / "packaging").glob("*.py"),
        *(RESOURCES.parent / "packaging").glob("*.sh"),
        *(RESOURCES.parent / "packaging").glob("*.spec"),
        *RESOURCES.glob("*.in"),
        *RESOURCES.glob("*.desktop"),
    ]
    assert len(scripts) >= 9
    for path in scripts:
        assert not spelled.search(path.read_text(encoding="utf-8")), path
    assert assemble.version() == workbench.__version__
