#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then runs the whole test suite (doctests
# included) in the project's environment. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/setup.sh --for-tests)
exec "$PY" -m pytest "$@"
