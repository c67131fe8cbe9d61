#!/usr/bin/env bash
# Installs, builds and serves the small GLM-shaped model shipped in tests/fixtures on port 30000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
exec build/glmserve serve --model-path tests/fixtures/glm45-tiny --served-model-name glm-4.5-tiny \
  --tool-call-parser glm45 --reasoning-parser glm45 --host 127.0.0.1 --port 30000 "$@"
