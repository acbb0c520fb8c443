#!/usr/bin/env bash
# Installs the Debian 12 packages Kindred builds and tests with (as root or through sudo), then the
# npm packages of the Node test drivers (tests/api: the official openai SDK; tests/web:
# playwright-core driving Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libcli11-dev libutf8proc-dev libcurl4-openssl-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 libpng-dev libssl-dev
  libpqxx-dev postgresql
  chromium curl
)
# Node.js: Debian's nodejs and npm, unless a node is already installed (e.g. from NodeSource).
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
# Exact versions from the lock files; skipped when already installed from the same lock.
for dir in tests/api tests/web; do
  if [ ! -d "$dir/node_modules" ] || ! cmp -s "$dir/package-lock.json" "$dir/.installed-lock.json"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json .installed-lock.json)
  fi
done
