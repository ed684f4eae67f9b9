#!/usr/bin/env bash
# Runs the suite on the oldest supported Python the machine has, with the lowest dependency
# versions pyproject.toml allows (tests/requirements-min.txt), and on the newest, with the
# newest versions. Interpreters are looked for on PATH and among pyenv's versions; a
# version that is missing is said, not failed. Each gets a throwaway virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

SUPPORTED=$(sed -n 's/^requires-python = ">=3\.\([0-9]*\)".*/\1/p' pyproject.toml)
NEWEST=$(sed -n 's/.*"Programming Language :: Python :: 3\.\([0-9]*\)".*/\1/p' pyproject.toml | sort -n | tail -1)

find_python() {  # find_python MINOR: a python3.MINOR interpreter, or nothing
  local minor=$1 p
  for p in "$(command -v "python3.$minor" 2>/dev/null || true)" \
           "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3."$minor" \
           /usr/bin/python3."$minor" /usr/local/bin/python3."$minor"; do
    if [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      echo "$p"
      return
    fi
  done
}

oldest="" newest=""
for minor in $(seq "$SUPPORTED" "$NEWEST"); do
  p=$(find_python "$minor")
  if [ -n "$p" ]; then
    [ -z "$oldest" ] && oldest="$p"
    newest="$p"
  else
    echo "check-pythons: Python 3.$minor is not on this machine"
  fi
done
if [ -z "$oldest" ]; then
  echo "check-pythons: no supported Python (3.$SUPPORTED to 3.$NEWEST) found besides the one scripts/test.sh used; nothing more to run"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run_suite() {  # run_suite PYTHON LABEL [PIP ARGS...]
  local py=$1 label=$2
  shift 2
  echo "check-pythons: $label: $("$py" -V 2>&1) ($py)"
  "$py" -m venv "$work/$label"
  "$work/$label/bin/python" -m pip install -q --disable-pip-version-check "$@" -e "$repo[test,plot]" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  "$work/$label/bin/python" -c 'import compgraph, graphviz, numpy, networkx; print("check-pythons:", "numpy", numpy.__version__, "graphviz", graphviz.__version__, "networkx", networkx.__version__)'
  "$work/$label/bin/python" -m pytest -p no:cacheprovider
}

run_suite "$oldest" oldest -r tests/requirements-min.txt
if [ "$newest" != "$oldest" ]; then
  run_suite "$newest" newest --upgrade
else
  echo "check-pythons: only one supported Python version is on this machine"
fi
