#!/usr/bin/env bash
# `make package-test`: smoke-test the release files in dist/ as a user would get them.
#
#   tarball  its size and the unpacked folder's against the targets below; unpack into a
#            temporary directory; run socket-workbench --version and --self-test from there
#            (offscreen), whose last steps check collation (QCollator, and the socket table
#            sorted by name) with the cut-down ICU data
#   .deb     check its control fields and contents; `dpkg -x` it into a scratch root; validate
#            its desktop file and metainfo; run <root>/opt/socket-workbench/socket-workbench
#            --self-test, and --version through <root>/usr/bin/socket-workbench (a relative
#            link)
#
# Every run gets a clean environment (env -i): no virtualenv, no PYTHONPATH, a PATH of system
# directories only, a fresh HOME, and a working directory outside the source tree, so the
# program can only use what it carries. Neither tree may hold a symbolic link to nothing.
# SELF_TEST=0 runs --version only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# The version's one source is workbench/__init__.py; importing it needs nothing else.
VERSION=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import workbench; print(workbench.__version__)' "$ROOT")
TARBALL=dist/socket-workbench-$VERSION-linux-x86_64.tar.gz
DEB=dist/socket-workbench_${VERSION}_amd64.deb
APP_ID=io.github.socketworkbench.SocketWorkbench
SELF_TEST=${SELF_TEST:-1}
# Issue 14's targets, in bytes (MB = 10^6 bytes, as assemble.py reports them).
MAX_UNPACKED=100000000
MAX_TARBALL=40000000
for f in "$TARBALL" "$DEB"; do
    [[ -f $f ]] || { echo "package-test: $f is missing: run make package" >&2; exit 1; }
done

SCRATCH=$(mktemp -d -t socket-workbench-package-test.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
mkdir "$SCRATCH/home" "$SCRATCH/tmp"

PASSED=0
fail() {
    echo "package-test: FAILED: $*" >&2
    echo "package-test: $PASSED passed, 1 failed"
    exit 1
}
passed() { PASSED=$((PASSED + 1)); }

# run LABEL PROGRAM ARGS...: the program in a clean environment, offscreen, from $SCRATCH.
run() {
    local label=$1
    shift
    echo "package-test: [$label] $*" >&2
    (cd "$SCRATCH" && env -i \
        HOME="$SCRATCH/home" TMPDIR="$SCRATCH/tmp" LANG=C.UTF-8 \
        PATH=/usr/local/bin:/usr/bin:/bin \
        QT_QPA_PLATFORM=offscreen \
        timeout 120 "$@")
}

check_version() {
    local label=$1 program=$2 out
    out=$(run "$label" "$program" --version) || fail "$label: --version exited $?"
    echo "  $out"
    [[ $out == "socket-workbench $VERSION (Python 3."*"Qt 6."*"PySide6 6."*"OpenSSL"* ]] ||
        fail "$label: --version printed something else than version $VERSION"
    passed
}

self_test() {
    local label=$1 program=$2 out
    [[ $SELF_TEST == 1 ]] || return 0
    out=$(run "$label" "$program" --self-test) || {
        echo "$out" | sed 's/^/  /'
        fail "$label: --self-test failed"
    }
    echo "$out" | sed 's/^/  /'
    for step in "collation (en_US)" "collation (sv_SE)" "socket table sorted by name"; do
        [[ $out == *"✓ $step"* ]] || fail "$label: the self-test did not check $step"
    done
    passed
}

# no_dangling_links LABEL DIR: fail on a symbolic link under DIR that points at nothing.
no_dangling_links() {
    local dangling
    dangling=$(find "$2" -xtype l)
    [[ -z $dangling ]] || fail "$1: symbolic links to nothing:" $dangling
    passed
}

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# ------------------------------------------------------------------------------ tarball
mkdir "$SCRATCH/unpacked"
tar -xzf "$TARBALL" -C "$SCRATCH/unpacked"
[[ $(ls "$SCRATCH/unpacked") == "socket-workbench-$VERSION" ]] ||
    fail "the tarball's top folder is not socket-workbench-$VERSION/"
passed
FOLDER=$SCRATCH/unpacked/socket-workbench-$VERSION
unpacked=$(du -sb "$FOLDER" | cut -f1)
packed=$(stat -c %s "$TARBALL")
echo "package-test: [size] unpacked $(mb "$unpacked") (at most $(mb $MAX_UNPACKED)), tar.gz" \
    "$(mb "$packed") (at most $(mb $MAX_TARBALL))"
((unpacked <= MAX_UNPACKED)) || fail "unpacked, the program takes $(mb "$unpacked")"
((packed <= MAX_TARBALL)) || fail "$TARBALL is $(mb "$packed")"
passed
no_dangling_links tarball "$FOLDER"
PROGRAM=$FOLDER/socket-workbench
check_version tarball "$PROGRAM"
self_test tarball "$PROGRAM"

# ------------------------------------------------------------------------------ .deb
field() { dpkg-deb --field "$DEB" "$1"; }
[[ $(field Package) == socket-workbench ]] || fail "deb: Package is $(field Package)"
[[ $(field Version) == "$VERSION" ]] || fail "deb: Version $(field Version) is not $VERSION"
[[ $(field Architecture) == amd64 ]] || fail "deb: Architecture is $(field Architecture)"
depends=$(field Depends)
for pkg in libgl1 libegl1 libxcb1 fontconfig-config ca-certificates; do
    [[ ",$depends," == *", $pkg,"* || ",$depends," == *",$pkg,"* || $depends == *"$pkg ("* ]] ||
        fail "deb: Depends lacks $pkg: $depends"
done
# Every declared dependency is a real Debian package (installed here: this is Debian too).
for pkg in $(echo "$depends" | sed -e 's/([^)]*)//g' -e 's/,/ /g'); do
    dpkg-query -W "$pkg" >/dev/null 2>&1 || dpkg-query -W "${pkg}t64" >/dev/null 2>&1 ||
        fail "deb: Depends names $pkg, which this Debian system does not know"
done
echo "package-test: [deb] Depends: $depends"
passed
# dpkg's own dependency check, without installing anything (needs root for its database).
if [[ $(id -u) -eq 0 ]]; then
    dpkg --no-act --install "$DEB" >/dev/null || fail "deb: dpkg --no-act --install refuses it"
    echo "package-test: [deb] dpkg --no-act --install: its dependencies are satisfied here"
    passed
fi

DEBROOT=$SCRATCH/root
dpkg-deb -x "$DEB" "$DEBROOT"
owners=$(dpkg-deb --fsys-tarfile "$DEB" | tar -tvf - | awk '{print $2}' | sort -u)
[[ $owners == root/root ]] || fail "deb: files not owned by root/root: $owners"
for path in \
    opt/socket-workbench/socket-workbench \
    usr/bin/socket-workbench \
    "usr/share/applications/$APP_ID.desktop" \
    "usr/share/metainfo/$APP_ID.metainfo.xml" \
    "usr/share/icons/hicolor/scalable/apps/$APP_ID.svg" \
    usr/share/doc/socket-workbench/copyright; do
    [[ -e $DEBROOT/$path ]] || fail "deb: /$path is missing"
done
for size in 16 24 32 48 64 128 256 512; do
    icon=$DEBROOT/usr/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png
    [[ -f $icon ]] || fail "deb: no ${size}x${size} icon"
    # PNG header: width and height are big-endian at bytes 16..23.
    [[ $(od -An -tx1 -j16 -N8 "$icon" | tr -d ' \n') == "$(printf '%08x%08x' "$size" "$size")" ]] ||
        fail "deb: the ${size}x${size} icon has other dimensions"
done
[[ $(readlink "$DEBROOT/usr/bin/socket-workbench") != /* ]] ||
    fail "deb: /usr/bin/socket-workbench is an absolute link"
desktop-file-validate "$DEBROOT/usr/share/applications/$APP_ID.desktop" ||
    fail "deb: the desktop file does not validate"
appstreamcli validate --no-net "$DEBROOT/usr/share/metainfo/$APP_ID.metainfo.xml" >/dev/null ||
    fail "deb: the metainfo does not validate"
grep -q "<release version=\"$VERSION\"" "$DEBROOT/usr/share/metainfo/$APP_ID.metainfo.xml" ||
    fail "deb: the metainfo's release is not $VERSION"
echo "package-test: [deb] contents, icons, desktop file and metainfo OK"
passed
no_dangling_links deb "$DEBROOT"

check_version "deb /usr/bin link" "$DEBROOT/usr/bin/socket-workbench"
self_test deb "$DEBROOT/opt/socket-workbench/socket-workbench"

echo "package-test: $TARBALL and $DEB work (${SECONDS} s)"
# The closing line CI reads.
echo "package-test: $PASSED passed, 0 failed"
