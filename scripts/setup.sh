#!/usr/bin/env bash
# Installs what compgraph needs and is missing: the Graphviz `dot` binary and the Python
# package with its test and plot extras. Safe to run again; it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}

if ! command -v dot >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Graphviz (apt-get install graphviz)"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq graphviz >/dev/null
  else
    echo "setup: the Graphviz 'dot' binary is missing and apt-get is not available." >&2
    echo "       Install Graphviz (macOS: brew install graphviz; conda: conda install graphviz;" >&2
    echo "       others: https://graphviz.org/download/), then run this again." >&2
    exit 1
  fi
fi

# Installed, with every dependency, and from this very checkout (subprocesses that run
# `python -m compgraph` from another folder must get this code, not an older clone's).
here="$(pwd -P)/compgraph"
installed=$(cd / && "$PY" -c "import os, compgraph, graphviz, numpy, networkx, pytest, hypothesis, syrupy, matplotlib; print(os.path.dirname(os.path.realpath(compgraph.__file__)))" 2>/dev/null || true)
if [ "$installed" != "$here" ]; then
  echo "setup: installing compgraph with its test and plot extras (pip install -e '.[test,plot]')"
  "$PY" -m pip install -q --disable-pip-version-check -e ".[test,plot]"
fi
