#!/usr/bin/env bash
# Builds the wheel, installs it into a clean virtual environment (dependencies from the
# package index, nothing from this checkout), and uses it from an empty folder: --version,
# eval and render of the homework graph to SVG and PNG. PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" -m venv "$work/build-env"
"$work/build-env/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" "$repo" 2>&1 | grep -v "^WARNING: Location" >&2 || true
wheel=$(ls "$work"/dist/compgraph-*.whl)
echo "check-wheel: built $(basename "$wheel")"

"$PY" -m venv "$work/env"
"$work/env/bin/python" -m pip install -q --disable-pip-version-check "$wheel" 2>&1 | grep -v "^WARNING: Location" >&2 || true
mkdir "$work/empty"
cp examples/homework-graph.cg "$work/empty/"
cd "$work/empty"
where=$("$work/env/bin/python" -c 'import compgraph, os; print(os.path.dirname(compgraph.__file__))')
case "$where" in "$work/env/"*) ;; *) echo "check-wheel: compgraph came from $where, not the wheel" >&2; exit 1 ;; esac
"$work/env/bin/compgraph" --version
out=$("$work/env/bin/compgraph" eval homework-graph.cg --at x=2,y=3,z=1 --json)
echo "$out" | "$work/env/bin/python" -c 'import json, sys; d = json.load(sys.stdin); assert d["value"] == 224.0 and d["gradients"]["x"] == 292.0, d'
"$work/env/bin/compgraph" render homework-graph.cg --at x=2,y=3,z=1 --view backward -o hw.svg >/dev/null
"$work/env/bin/compgraph" render homework-graph.cg --at x=2,y=3,z=1 --view backward -o hw.png >/dev/null
grep -q ' A' hw.svg || { echo "check-wheel: the SVG has no D-shaped operators" >&2; exit 1; }
head -c 8 hw.png | od -An -c | grep -q 'P   N   G' || { echo "check-wheel: hw.png is not a PNG" >&2; exit 1; }
echo "check-wheel: the installed wheel evaluates and renders the homework graph"
