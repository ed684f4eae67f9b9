#!/usr/bin/env bash
# The main job: installs what is missing, then renders every example in every view into renders/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${PYTHON:-python3}" -m compgraph.gallery examples renders "$@"
