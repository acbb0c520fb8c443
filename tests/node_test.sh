#!/usr/bin/env bash
# Runs a Node test script: tests/node_test.sh SCRIPT.mjs [args...]. Without node, or without the
# npm packages of the script's folder, the test is skipped (exit 77) — except under CI=true, where
# that is a failure.
set -euo pipefail
script="$1"; shift
skip() {
  if [ "${CI:-}" = "true" ]; then echo "FAIL (CI): $1" >&2; exit 1; fi
  echo "SKIP: $1" >&2; exit 77
}
command -v node >/dev/null || skip "node is not installed (scripts/install-deps.sh installs it)"
dir="$(dirname "$script")"
if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules" ]; then
  skip "npm packages of $dir are not installed (scripts/install-deps.sh runs npm ci there)"
fi
exec node "$script" "$@"
