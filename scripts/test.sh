#!/usr/bin/env bash
# The test command: installs dependencies, builds, runs every C++ unit test (ctest) and every
# oracle/end-to-end test (pytest against tokenizers, jinja2, the openai client).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
echo "== C++ unit tests"
ctest --test-dir build --output-on-failure -j2 --timeout 600
echo "== Python oracle and end-to-end tests"
GLMSERVE_BIN="$PWD/build/glmserve" .venv/bin/python -m pytest -q tests/python
