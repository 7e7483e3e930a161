#!/bin/sh
# The system packages a target needs, installed where this user may (root, or sudo without a
# password), else one line naming the command to run. Used by `make main`, `make test` and .ci/run.
#
#   sh tools/system_packages.sh main   # python3-venv (a fresh venv), bubblewrap, libseccomp2 (the sandbox)
#   sh tools/system_packages.sh test   # the same, chromium and fonts-wqy-zenhei (tests/frontends/test_browser.py)
#
# Exit 0 when everything is there (or was installed), 1 with one line on stderr otherwise. On a
# system without apt-get the line names the packages; on macOS `main` goes on (no sandbox can be
# had there: autograde.demo.main_job grades the example class without one and says so).
set -u
target=${1:-main}
case "$target" in main|test) ;; *) echo "usage: sh tools/system_packages.sh main|test" >&2; exit 2 ;; esac

missing=""
need() { missing="$missing $1"; }

has_lib() {  # has_lib NAME: a shared library the dynamic linker finds
    for tool in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
        if command -v "$tool" >/dev/null 2>&1; then
            "$tool" -p 2>/dev/null | grep -q "$1" && return 0
            return 1
        fi
    done
    return 1
}

has_venv() {  # Debian's python3 makes no venv with pip without python3.X-venv
    command -v python3 >/dev/null 2>&1 || return 1
    command -v dpkg-query >/dev/null 2>&1 || return 0
    ver=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    dpkg-query -W -f='${Status}' "python$ver-venv" 2>/dev/null | grep -q "ok installed"
}

os=$(uname -s)
if [ "$os" != Linux ]; then
    if [ "$target" = main ]; then
        echo "make main: $os has no bubblewrap sandbox; the example class will be graded without one" >&2
        exit 0
    fi
    echo "make test: the graders' tests need Linux (bubblewrap); run them in a Linux machine or container" >&2
    exit 1
fi

if [ ! -x "${VENV:-.venv}/bin/python" ]; then
    command -v python3 >/dev/null 2>&1 || need python3
    has_venv || need python3-venv
fi
command -v bwrap >/dev/null 2>&1 || need bubblewrap
has_lib libseccomp.so.2 || need libseccomp2
if [ "$target" = test ]; then
    command -v chromium >/dev/null 2>&1 || need chromium
    fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || need fonts-wqy-zenhei
fi
[ -z "$missing" ] && exit 0
missing=${missing# }

if ! command -v apt-get >/dev/null 2>&1; then
    echo "make $target: missing system packages: $missing. Install them with this system's package manager" \
         "(e.g. dnf install bubblewrap libseccomp), then run make $target again" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    as=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as="sudo"
else
    echo "make $target: missing system packages: $missing. Run: sudo apt-get install -y $missing" \
         "(then make $target again)" >&2
    exit 1
fi
echo "make $target: installing system packages: $missing" >&2
log=$(mktemp)
# shellcheck disable=SC2086 # the package list is meant to split
if ! { $as env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
       && $as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >"$log" 2>&1; then
    tail -n 5 "$log" >&2
    rm -f "$log"
    echo "make $target: apt-get could not install $missing. Run: sudo apt-get install -y $missing" >&2
    exit 1
fi
rm -f "$log"
