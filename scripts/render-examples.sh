#!/usr/bin/env bash
# The main job: installs what is missing (scripts/setup.sh), then renders every example in
# every view into renders/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/setup.sh)
exec "$PY" -m compgraph.gallery examples renders "$@"
