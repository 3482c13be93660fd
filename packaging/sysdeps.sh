#!/usr/bin/env bash
# The Debian packages that building and checking the package needs, beyond .ci/sysdeps.sh:
#   binutils            strip (PyInstaller strips the bundle), readelf; as and ld (icu_data.py
#                       wraps the cut-down ICU data in a library)
#   icu-devtools        icupkg (icu_data.py lists and removes ICU data items)
#   desktop-file-utils  desktop-file-validate (tests/packaging)
#   appstream           appstreamcli validate (tests/packaging)
#   libpython3.X, python3.X-venv   only when building with Debian's own python3: PyInstaller
#                       bundles the shared libpython, which Debian ships apart.
# Quiet when all are present; installs them as root on a Debian-like system; otherwise prints
# the command and fails.
set -euo pipefail

PY=${PY:-python3}
PACKAGES=(binutils icu-devtools desktop-file-utils appstream)
if command -v "$PY" >/dev/null 2>&1; then
    py_path=$(readlink -f "$(command -v "$PY")")
    if [[ $py_path == /usr/bin/* ]]; then
        ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        PACKAGES+=("libpython$ver" "python$ver-venv")
    fi
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    for exe in strip readelf as ld icupkg; do
        command -v "$exe" >/dev/null 2>&1 || {
            echo "package: $exe is missing: install binutils and ICU's tools with your package manager" >&2
            exit 1
        }
    done
    exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" == installed ]] ||
        missing+=("$pkg")
done
((${#missing[@]})) || exit 0

install_cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "package: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $install_cmd
    exit 0
fi
echo "package: missing Debian packages: ${missing[*]}" >&2
echo "package: install them with: sudo apt-get update && sudo $install_cmd" >&2
exit 1
