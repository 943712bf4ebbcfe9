#!/usr/bin/env bash
# One command installs everything the grader and its tests need, on a fresh machine:
#   system packages (when run as root with apt-get): bubblewrap, the sandbox the grader uses for full
#   isolation; chromium and a Japanese font, used by the tests that screenshot the feedback pages;
#   then a virtual environment .venv with the project and its development extras.
set -euo pipefail
cd "$(dirname "$0")"

SYSTEM_PACKAGES=(bubblewrap chromium fonts-ipafont-gothic)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=()
    for package in "${SYSTEM_PACKAGES[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
else
    echo "install.sh: not root or no apt-get: install ${SYSTEM_PACKAGES[*]} yourself for full isolation" >&2
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[dev]"

# The datasets: from a local copy of the course's data when this machine has one (no download),
# into the checkout's .data/, the data directory grade uses when no other is set. Elsewhere grade
# lets Keras download them on first use.
LOCAL_COPY=../shared/datasets/materialize
if [ -x "$LOCAL_COPY" ] || [ -f "$LOCAL_COPY" ]; then
    .venv/bin/python "$LOCAL_COPY" .data >/dev/null
    echo "datasets: .data/ (from $LOCAL_COPY)"
fi
echo "installed: .venv/bin/grade"
