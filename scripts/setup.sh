#!/usr/bin/env bash
# Installs what compgraph needs and is missing, then prints the Python to run it with.
#
#   - Graphviz's `dot` binary (apt-get on Debian/Ubuntu, with sudo when not root);
#   - chromium (the tests open the HTML stepper in it), when missing and apt-get can install
#     it;
#   - librsvg's `rsvg-convert` (Debian/Ubuntu: librsvg2-bin), which makes PNG and PDF from
#     the finished SVG (pictures, worksheets), and the Liberation fonts (fonts-liberation2),
#     the metric twins of Helvetica and Times that pictures are laid out and drawn with;
#   - a virtual environment of the project's own, .venv/ in the repository (unless one is
#     already active), so that a stock python3 that is externally managed (PEP 668) is never
#     written into; Debian's python3-venv is installed with apt-get when it is missing;
#   - compgraph itself in that environment, editable, with its test and plot extras.
#
# Safe to run again: it skips what is there. Its last line on standard output is the path
# of the environment's python (the other README scripts run with it); messages go to stderr.
# PYTHON picks the interpreter that creates .venv (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_install() {  # apt_install PACKAGE... : true when apt-get installed them
  command -v apt-get >/dev/null 2>&1 || return 1
  say "installing $* (apt-get install $*)"
  $SUDO apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null || return 1
}

# --- Graphviz ---------------------------------------------------------------------------
if ! command -v dot >/dev/null 2>&1; then
  if ! apt_install graphviz; then
    say "the Graphviz 'dot' binary is missing and could not be installed with apt-get."
    say "  Install Graphviz (macOS: brew install graphviz; conda: conda install graphviz;"
    say "  Windows: use WSL, then sudo apt-get install graphviz; others:"
    say "  https://graphviz.org/download/), then run this again."
    exit 1
  fi
fi

# --- for the tests: chromium ------------------------------------------------------------
# The suite drives the HTML stepper in a real browser (tests/test_stepper_browser.py skips,
# saying so, where none can be installed); chromium is installed only for the tests
# (scripts/test.sh passes --for-tests), and a failed install is a note, not an error.
FOR_TESTS=0
[ "${1:-}" = "--for-tests" ] && FOR_TESTS=1
if [ "$FOR_TESTS" = 1 ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  apt_install chromium || say "chromium could not be installed: the browser tests will be skipped (Debian/Ubuntu: sudo apt-get install chromium)"
fi

# --- PNG/PDF converter and fonts ---------------------------------------------------------
missing=()
command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)
# grep reads the whole list (no -q): stopping early would kill fc-list with SIGPIPE, and
# under pipefail the fonts would always look missing.
if command -v fc-list >/dev/null 2>&1 && ! fc-list | grep "Liberation Sans" >/dev/null; then
  missing+=(fonts-liberation2)
fi
if [ ${#missing[@]} -gt 0 ] && ! apt_install "${missing[@]}"; then
  say "could not install ${missing[*]} with apt-get: SVG and DOT pictures work, PNG and PDF"
  say "  need librsvg's rsvg-convert (macOS: brew install librsvg; conda: conda install -c"
  say "  conda-forge librsvg)."
fi

# --- the Python environment ---------------------------------------------------------------
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  PY="$VIRTUAL_ENV/bin/python"       # the user's own active environment
else
  PY="$(pwd -P)/.venv/bin/python"
  if [ ! -x "$PY" ]; then
    BASE=${PYTHON:-python3}
    if ! command -v "$BASE" >/dev/null 2>&1; then
      say "no '$BASE' found: install Python 3.10 or newer (Debian/Ubuntu: sudo apt-get install python3 python3-venv)"
      exit 1
    fi
    if ! "$BASE" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
      say "compgraph needs Python 3.10 or newer; '$BASE' is $("$BASE" -V 2>&1). Set PYTHON=python3.X and run this again."
      exit 1
    fi
    # Debian splits venv's pip bootstrap into python3-venv (python3.X-venv).
    if ! "$BASE" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      ver=$("$BASE" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      if ! apt_install "python$ver-venv" && ! apt_install python3-venv; then
        say "Python's venv module is missing: install it (Debian/Ubuntu: sudo apt-get install python$ver-venv), then run this again."
        exit 1
      fi
    fi
    say "creating the virtual environment .venv/ ($("$BASE" -V 2>&1))"
    rm -rf .venv
    "$BASE" -m venv .venv
  fi
fi

# Installed, with every dependency, and from this very checkout (subprocesses that run
# `python -m compgraph` from another folder must get this code, not an older clone's).
here="$(pwd -P)/compgraph"
installed=$(cd / && "$PY" -c "import os, compgraph, graphviz, numpy, networkx, pytest, hypothesis, syrupy, matplotlib; print(os.path.dirname(os.path.realpath(compgraph.__file__)))" 2>/dev/null || true)
if [ "$installed" != "$here" ]; then
  say "installing compgraph with its test and plot extras into $(dirname "$(dirname "$PY")") (pip install -e '.[test,plot]')"
  "$PY" -m pip install -q --disable-pip-version-check -e ".[test,plot]" >&2
fi
echo "$PY"
