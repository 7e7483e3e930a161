#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (the network is
# available then, never needed afterwards). Installs Python, bubblewrap, the pinned packages
# and this course package, then grades the solution notebooks: that fills the graders'
# reference-run cache and fails the build unless the solutions earn every point.
set -euo pipefail
SRC=/autograder/source
# shellcheck source=gradescope/env.sh
source "$SRC/gradescope_env.sh"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv bubblewrap ca-certificates >/dev/null
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup.sh: $(python3 -V) is too old: requirements-gradescope.txt pins packages for Python 3.11 or" \
         "newer. Fix: choose the Ubuntu 24.04 base image under Configure Autograder." >&2
    exit 1
fi

python3 -m venv "$GD_PREFIX/venv"
# the exact versions the course is tested with, and nothing else (--no-deps: the list is the closure)
pip install --quiet --no-deps -r "$SRC/requirements-gradescope.txt"
pip install --quiet --no-deps -e "$SRC"
pip check
mkdir -p "$GD_GRADING_CACHE" "$KERAS_HOME" "$MPLCONFIGDIR"

# build-time self-test: fills the reference-run cache so that grading a submission runs nothing twice
python -m autograde.frontends.gradescope selftest

# staff files readable by root only; a kernel that runs as another user can still start its launcher
chmod -R go-rwx "$SRC" "$GD_GRADING_CACHE"
chmod 711 /autograder "$SRC" "$SRC/autograde" "$SRC/autograde/kernel"
chmod 644 "$SRC/autograde/kernel/limited.py"
