"""Turn PyInstaller's folder into the release files in ``dist/`` (step 4 of packaging/build.sh).

    build/pkg-venv/bin/python packaging/assemble.py

Reads build/pyinstaller/dist/socket-workbench (the program) and build/icons (render_icons.py),
and writes:

- ``dist/socket-workbench-<v>-linux-x86_64.tar.gz``: the folder as ``socket-workbench-<v>/``;
- ``dist/socket-workbench_<v>_amd64.deb``: the folder in ``/opt/socket-workbench``, the
  ``/usr/bin/socket-workbench`` link, the desktop file, the AppStream metainfo and the icons;
- ``build/package-sizes.txt``: the folder's size, the tarball's and the .deb's, in bytes.

The version is ``workbench.__version__`` (the installed package: its one source). Before the
.deb is built, the desktop file and metainfo are validated, and every shared library the bundle
takes from the system is checked against the control file's ``Depends``: a library that no
declared package provides stops the build.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import workbench

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = ROOT / "build"
DIST = ROOT / "dist"
FROZEN = BUILD / "pyinstaller" / "dist" / "socket-workbench"
ICONS = BUILD / "icons"
RESOURCES = ROOT / "resources"

NAME = "socket-workbench"
APP_ID = "io.github.socketworkbench.SocketWorkbench"
HOMEPAGE = "https://github.com/socketworkbench/socket-workbench"
MAINTAINER = "Socket Workbench developers <socket-workbench@users.noreply.github.com>"

#: What the bundle needs from the system (see check_system_libraries). libc6's minimum is the
#: build machine's glibc (the bundled libraries were linked against it). fontconfig-config: the
#: bundled libfontconfig reads /etc/fonts (and pulls in a font); ca-certificates: what TLS
#: verification trusts by default.
DEPENDS = (
    "libstdc++6",
    "libgl1",
    "libegl1",
    "libxcb1",
    "fontconfig-config",
    "ca-certificates",
)
#: Packages every Debian system has (Priority: required): no need to declare them.
IMPLICIT = ("libc6", "libgcc-s1")
#: Data for the bundled libxkbcommon (compose tables, keymaps) and libX11 (locales): present on
#: any X11 desktop, so recommended rather than required.
RECOMMENDS = ("xkb-data", "libx11-data")


def version() -> str:
    return workbench.__version__


def release_date() -> str:
    """SOURCE_DATE_EPOCH if set (reproducible builds), else the last commit's date, else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date().isoformat()
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%cs"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if out:
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    return datetime.date.today().isoformat()


def source_epoch() -> int:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return int(epoch)
    day = datetime.date.fromisoformat(release_date())
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp())


def metainfo(version: str, date: str) -> str:
    template = (RESOURCES / f"{APP_ID}.metainfo.xml.in").read_text(encoding="utf-8")
    text = template.replace("@VERSION@", version).replace("@DATE@", date)
    if "@" in re.sub(r"<!--.*?-->", "", text, flags=re.S):
        raise SystemExit("assemble: a placeholder is left in the metainfo template")
    return text


def run(*cmd: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], check=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def du_bytes(path: Path) -> int:
    """Like ``du -sb``: apparent sizes of every file, directory and link under ``path``."""
    return int(run("du", "-sb", path, capture_output=True).stdout.split()[0])


def validate(desktop: Path, meta: Path) -> None:
    run("desktop-file-validate", desktop)
    run("appstreamcli", "validate", "--no-net", meta, stdout=subprocess.DEVNULL)


# ------------------------------------------------------------------------------ libraries


def _elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def system_libraries(folder: Path) -> tuple[dict[str, set[str]], list[str]]:
    """The libraries the bundle loads from outside itself: {resolved path: users}, and the
    names that do not resolve at all (as ``user: name``)."""
    internal = folder / "_internal"
    env = dict(os.environ, LD_LIBRARY_PATH=str(internal))
    outside: dict[str, set[str]] = {}
    unresolved: list[str] = []
    for elf in _elf_files(folder):
        proc = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=env)
        for line in proc.stdout.splitlines():
            m = re.match(r"\s*(\S+) => (.+?) \(0x", line)
            if m:
                target = m.group(2)
                if not target.startswith(str(folder)):
                    outside.setdefault(os.path.realpath(target), set()).add(elf.name)
            elif "not found" in line:
                unresolved.append(f"{elf.relative_to(folder)}: {line.strip()}")
    return outside, unresolved


def owning_package(path: str) -> str | None:
    for candidate in (path, path.replace("/usr/lib/", "/lib/", 1)):
        proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout.split(":", 1)[0].strip()
    return None


def _package_closure(packages: tuple[str, ...]) -> set[str]:
    """The packages and everything they depend on, as installed here (dpkg's database)."""
    seen: set[str] = set()
    todo = list(packages)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", pkg],
            capture_output=True,
            text=True,
        )
        for clause in proc.stdout.split(","):
            for alternative in clause.split("|"):
                name = re.sub(r"\(.*?\)|:\S+", "", alternative).strip()
                if name:
                    todo.append(name)
    return {p.removesuffix("t64") for p in seen}


def check_system_libraries(folder: Path) -> list[str]:
    """Fail unless every system library the bundle links comes from a declared (or implicit)
    package or one of their dependencies; return the report lines."""
    allowed = _package_closure((*DEPENDS, *IMPLICIT))
    outside, unresolved = system_libraries(folder)
    if unresolved:
        raise SystemExit(
            "assemble: the bundle links libraries found nowhere:\n  " + "\n  ".join(unresolved)
        )
    lines = []
    undeclared = []
    for lib in sorted(outside):
        package = owning_package(lib) or "?"
        base = package.removesuffix("t64")
        ok = base in allowed
        how = "declared" if base in DEPENDS or base in IMPLICIT else "a dependency of one"
        lines.append(f"{lib} ({package}, {how if ok else 'NOT DECLARED'})")
        if not ok:
            undeclared.append(f"{lib} ({package}), used by {', '.join(sorted(outside[lib]))}")
    if undeclared:
        raise SystemExit(
            "assemble: declare these in DEPENDS (packaging/assemble.py) or bundle "
            "them:\n  " + "\n  ".join(undeclared)
        )
    return lines


def glibc_version() -> str:
    name, _, ver = os.confstr("CS_GNU_LIBC_VERSION").partition(" ")  # "glibc 2.36"
    if name != "glibc" or not ver:
        raise SystemExit("assemble: not a glibc system; cannot state libc6's version")
    return ver


# ------------------------------------------------------------------------------ outputs


def make_tarball(folder: Path, top: str, out: Path, epoch: int) -> None:
    stage = BUILD / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    shutil.copytree(folder, stage / top, symlinks=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("wb") as f:
        tar = subprocess.Popen(
            [
                "tar",
                "--sort=name",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                f"--mtime=@{epoch}",
                "-C",
                str(stage),
                "-cf",
                "-",
                top,
            ],
            stdout=subprocess.PIPE,
        )
        gzip = subprocess.run(["gzip", "-9n"], stdin=tar.stdout, stdout=f, check=False)
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() or gzip.returncode:
            raise SystemExit("assemble: tar | gzip failed")
    tmp.replace(out)
    shutil.rmtree(stage)


def make_deb(folder: Path, version: str, date: str, out: Path, epoch: int) -> list[str]:
    root = BUILD / "deb" / out.stem
    shutil.rmtree(root.parent, ignore_errors=True)
    opt = root / "opt" / NAME
    shutil.copytree(folder, opt, symlinks=True)

    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    # Relative, so that it also works inside a `dpkg -x` scratch root.
    (usr_bin / NAME).symlink_to(Path("..", "..", "opt", NAME, NAME))

    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    desktop = share / "applications" / f"{APP_ID}.desktop"
    shutil.copyfile(RESOURCES / f"{APP_ID}.desktop", desktop)
    (share / "metainfo").mkdir()
    meta = share / "metainfo" / f"{APP_ID}.metainfo.xml"
    meta.write_text(metainfo(version, date), encoding="utf-8")
    validate(desktop, meta)
    shutil.copytree(ICONS, share / "icons" / "hicolor")
    doc = share / "doc" / NAME
    doc.mkdir(parents=True)
    shutil.copyfile(HERE / "copyright", doc / "copyright")

    report = check_system_libraries(opt)
    depends = [f"libc6 (>= {glibc_version()})", *DEPENDS]
    installed_kib = (du_bytes(root) + 1023) // 1024
    control = root / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        f"Package: {NAME}\n"
        f"Version: {version}\n"
        "Architecture: amd64\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(depends)}\n"
        f"Recommends: {', '.join(RECOMMENDS)}\n"
        "Section: net\n"
        "Priority: optional\n"
        f"Homepage: {HOMEPAGE}\n"
        "Description: test TCP and TLS servers by hand\n"
        " Socket Workbench opens TCP connections to a server, upgrades them to TLS,\n"
        " sends text or hex, and shows what comes back, with the call log and the\n"
        " state of each connection. It bundles its own Python and Qt.\n",
        encoding="utf-8",
    )
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if os.access(path, os.X_OK) else 0o644)
        os.utime(path, (epoch, epoch))
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
    run(
        "dpkg-deb",
        "-Zzstd",
        "--root-owner-group",
        "--build",
        root,
        out,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(root.parent)
    return report


def main() -> int:
    if not (FROZEN / NAME).is_file():
        raise SystemExit(f"assemble: {FROZEN / NAME} is missing: run packaging/build.sh")
    if not (ICONS / "256x256" / "apps" / f"{APP_ID}.png").is_file():
        raise SystemExit(f"assemble: no icons in {ICONS}: run packaging/render_icons.py")
    v = version()
    date = release_date()
    epoch = source_epoch()
    DIST.mkdir(exist_ok=True)
    tarball = DIST / f"{NAME}-{v}-linux-x86_64.tar.gz"
    deb = DIST / f"{NAME}_{v}_amd64.deb"

    started = time.monotonic()
    make_tarball(FROZEN, f"{NAME}-{v}", tarball, epoch)
    tar_s = time.monotonic() - started
    started = time.monotonic()
    libs = make_deb(FROZEN, v, date, deb, epoch)
    deb_s = time.monotonic() - started

    folder = du_bytes(FROZEN)
    sizes = (
        f"version {v}\n"
        f"folder {folder}\n"
        f"tarball {tarball.stat().st_size}\n"
        f"deb {deb.stat().st_size}\n"
    )
    (BUILD / "package-sizes.txt").write_text(sizes, encoding="utf-8")
    (BUILD / "system-libraries.txt").write_text("".join(f"{x}\n" for x in libs), encoding="utf-8")
    mb = 1e6
    print(f"package: {FROZEN.relative_to(ROOT)}: {folder / mb:.1f} MB unpacked")
    print(
        f"package: {tarball.relative_to(ROOT)}: {tarball.stat().st_size / mb:.1f} MB "
        f"({tar_s:.0f} s)"
    )
    print(f"package: {deb.relative_to(ROOT)}: {deb.stat().st_size / mb:.1f} MB ({deb_s:.0f} s)")
    print(
        f"package: system libraries it uses (all declared): see "
        f"{(BUILD / 'system-libraries.txt').relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
