#!/usr/bin/env bash
# Runs a Node test script against a real `kindred serve`:
#   tests/api/run_with_server.sh KINDRED_BINARY SCRIPT.mjs [extra serve options...]
# Starts the server on a free port with a fresh SQLite database and an admin key, creates a tenant
# key through the admin API, exports KINDRED_URL, KINDRED_KEY, KINDRED_ADMIN_KEY and KINDRED_BIN,
# runs the script with node, and always stops the server. Without node or the script's npm
# packages the test is skipped (exit 77) — except under CI=true, where that is a failure.
set -euo pipefail
bin="$1"; script="$2"; shift 2
here="$(cd "$(dirname "$0")" && pwd)"
skip() {
  if [ "${CI:-}" = "true" ]; then echo "FAIL (CI): $1" >&2; exit 1; fi
  echo "SKIP: $1" >&2; exit 77
}
command -v node >/dev/null || skip "node is not installed (scripts/install-deps.sh installs it)"
pkg_dir="$(dirname "$script")"
if [ -f "$pkg_dir/package.json" ] && [ ! -d "$pkg_dir/node_modules" ]; then
  skip "npm packages of $pkg_dir are not installed (scripts/install-deps.sh runs npm ci there)"
fi
tmp="$(mktemp -d /tmp/kindred-api-XXXXXX)"
admin="kr-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$bin" serve --port 0 --db "$tmp/k.db" --state-dir "$tmp/state" --admin-key "$admin" --log-level warn "$@" \
  > "$tmp/out.log" 2> "$tmp/err.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
url=""
for _ in $(seq 1 300); do
  url="$(grep -o 'http://[^ ]*' "$tmp/out.log" | head -1 || true)"
  [ -n "$url" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$tmp/err.log" >&2; echo "kindred serve exited" >&2; exit 1; fi
  sleep 0.1
done
[ -n "$url" ] || { cat "$tmp/err.log" >&2; echo "kindred serve did not start" >&2; exit 1; }
url="${url%/}"
key="$(node -e '
  fetch(process.argv[1] + "/kindred/v1/admin/keys", {method: "POST",
    headers: {"Authorization": "Bearer " + process.argv[2], "Content-Type": "application/json"},
    body: JSON.stringify({tenant: "test", name: "api-test"})})
  .then(async r => { const b = await r.json(); if (r.status !== 201) { console.error(JSON.stringify(b)); process.exit(1); } console.log(b.key); })
  .catch(e => { console.error(e.message); process.exit(1); });' "$url" "$admin")"
export KINDRED_URL="$url" KINDRED_KEY="$key" KINDRED_ADMIN_KEY="$admin" KINDRED_BIN="$bin" KINDRED_SERVER_PID="$pid"
status=0
node "$script" || status=$?
if [ "$status" -ne 0 ]; then echo "--- server log (stderr tail) ---" >&2; tail -30 "$tmp/err.log" >&2; fi
exit "$status"
