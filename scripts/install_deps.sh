#!/usr/bin/env bash
# Installs everything glmserve needs to build and test on a bare Debian 12 machine:
# Debian -dev packages for the C++ build, and a Python virtual environment inside the checkout
# (.venv) with the light test oracles (tokenizers, jinja2, openai, pytest). torch is NOT installed
# here: it is only needed to regenerate fixtures (tools/make_fixtures.py, see tools/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libpcre2-dev libicu-dev libcpp-httplib-dev libcli11-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev libhwy-dev libnuma-dev libxxhash-dev libzip-dev
  libopenmpi-dev openmpi-bin
  python3 python3-venv python3-pip curl
)
# One dpkg-query for the whole list (one per package took a second on every run).
installed="$(dpkg-query -W -f='${Package}\t${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  grep -qxF "$p"$'\t'"install ok installed" <<<"$installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[install_deps] apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's python3 for the venv: it matches the machine and needs nothing else installed.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# pip takes ~25 s to re-resolve an already satisfied list (parsing every installed package's metadata), so
# a stamp of the requirements file it last installed skips it until the file changes.
STAMP=.venv/.requirements.sha256
want="$(sha256sum tests/python/requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r tests/python/requirements.txt
  echo "$want" > "$STAMP"
fi
echo "[install_deps] done"
