#!/usr/bin/env bash
# `make package`: the Linux one-folder program, as dist/socket-workbench-<v>-linux-x86_64.tar.gz
# and dist/socket-workbench_<v>_amd64.deb.
#
#   1. build/pkg-venv: a virtualenv with only the runtime dependencies and PyInstaller (the
#      `package` extra of pyproject.toml); re-created when pyproject.toml or the Python
#      changes, and the project itself reinstalled every time.
#   2. build/icons: resources/socket-workbench.svg rendered to the hicolor sizes (Qt's SVG).
#   3. PyInstaller with packaging/socket-workbench.spec → build/pyinstaller/dist/socket-workbench
#   4. packaging/assemble.py: metainfo, tarball, .deb, size report (build/package-sizes.txt).
#
# Environment: PY (the Python to build with; default python3), SOCKET_WORKBENCH_NO_TRIM=1 (no
# trimming, to measure it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=${PY:-python3}
VENV=build/pkg-venv
VPY=$VENV/bin/python
STAMP=$VENV/.installed

packaging/sysdeps.sh

# The stamp names the interpreter the venv was made from: another PY means a new venv.
want=$("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')
if [[ ! -x $VPY || ! -e $STAMP || pyproject.toml -nt $STAMP || $(<"$STAMP") != "$want" ]]; then
    echo "package: creating $VENV ($want)"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VPY" -m pip install --no-input --disable-pip-version-check --quiet '.[package]'
    echo "$want" >"$STAMP"
else
    # Same dependencies: only the project's own code may have changed.
    "$VPY" -m pip install --no-input --disable-pip-version-check --quiet --no-deps \
        --force-reinstall .
fi
# pip builds the wheel in the source tree; its leftovers must not shadow anything.
rm -rf build/lib build/bdist.* socket_workbench.egg-info

# The frozen program must be one Qt binding only (bundle_rules.EXCLUDED_MODULES); a clean venv
# has no other, but say so if someone installed one into it.
if "$VPY" -c 'import importlib.util as u, sys; sys.exit(not any(u.find_spec(m) for m in ("PyQt5", "PyQt6", "PySide2")))'; then
    echo "package: $VENV has another Qt binding installed; remove it (rm -rf $VENV)" >&2
    exit 1
fi

echo "package: rendering the icons"
rm -rf build/icons
"$VPY" packaging/render_icons.py build/icons

echo "package: PyInstaller (its libgtk-3 warnings concern the GTK theme plugin, trimmed later)"
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
    --distpath build/pyinstaller/dist --workpath build/pyinstaller/work \
    packaging/socket-workbench.spec

echo "package: assembling dist/"
"$VPY" packaging/assemble.py
