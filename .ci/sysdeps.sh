#!/usr/bin/env bash
# Make sure the system packages that Qt (offscreen and xcb) and the test peers need are present.
# Quick and silent when they are; installs them when run as root on a Debian-like system;
# otherwise prints what is missing and how to install it.
set -euo pipefail

PACKAGES=(
    # Qt runtime (PySide6 wheels link these; xcb-* for a real X11 window)
    libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
    libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
    libxcb-render-util0 libxcb-shape0
    # test peers and a virtual screen
    openssl socat ncat xvfb xauth
    # pcapng export and TLS key log tests read captures with the real tools
    tshark tcpdump
    # tests/packaging validates the desktop file and the AppStream metainfo
    desktop-file-utils appstream
)
EXECUTABLES=(openssl socat ncat tshark capinfos tcpdump)

if ! command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for exe in "${EXECUTABLES[@]}"; do
        command -v "$exe" >/dev/null 2>&1 || missing+=("$exe")
    done
    if ((${#missing[@]})); then
        echo "sysdeps: warning: not a Debian-like system and these programs are missing:" \
            "${missing[*]} (tests that use them will fail); install them with your package manager." >&2
    fi
    exit 0
fi

installed() {
    # Debian 13 renamed some libraries with a t64 suffix; either name will do.
    local name
    for name in "$1" "$1t64"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$name" 2>/dev/null)" == installed ]] && return 0
    done
    return 1
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

install_cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "sysdeps: installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive $install_cmd
    exit 0
fi

echo "sysdeps: missing Debian packages: ${missing[*]}" >&2
echo "sysdeps: install them with: sudo apt-get update && sudo $install_cmd" >&2
exit 1
