#!/usr/bin/env bash
# Third-party checks of the contract, against the real server (debug build, SQLite, a fresh data
# directory, demo data):
#   1. the served /openapi.json passes openapi-spec-validator (OpenAPI 3.1);
#   2. openapi-typescript generates types from it, and a frontend journey written with
#      openapi-fetch type-checks under `tsc --strict` and runs;
#   3. Swagger UI in headless Chromium runs "Try it out" on an admin and a portal operation.
# Installs what it needs (npm ci, a Python venv, Debian's chromium) idempotently.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
BIN=${PORTAL_API_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/portal-api}

echo "--> tools"
npm ci --no-audit --no-fund --loglevel=error
if [ ! -x .venv/bin/openapi-spec-validator ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
fi
if [ ! -x /usr/bin/chromium ]; then
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi
[ -n "${PORTAL_API_BIN:-}" ] || (cd "$ROOT" && cargo build -q --locked -p api)

echo "--> server (--demo)"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export API="http://127.0.0.1:$port"
KEY=$(python3 -c 'import secrets, string; a = string.ascii_lowercase + string.digits; r = lambda n: "".join(secrets.choice(a) for _ in range(n)); print(f"sk_{r(8)}_{r(32)}")')
export KEY
PORTAL_DATA_DIR="$work" PORTAL_LISTEN="127.0.0.1:$port" PORTAL_BOOTSTRAP_API_KEY="$KEY" \
    PORTAL_URL_BASE="$API/portal" DATABASE_URL= RUST_LOG=warn \
    "$BIN" serve --demo >"$work/stdout" 2>"$work/stderr" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    curl -sf "$API/readyz" >/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$work/stderr"; exit 1; }
    sleep 0.2
done
LOGIN_URL=$(grep -o 'http[^ ]*?code=[^ ]*' "$work/stdout")
TOKEN=$(grep -o 'v4\.local\.[^ ]*' "$work/stdout")
export LOGIN_URL TOKEN

echo "--> openapi-spec-validator"
curl -sf "$API/openapi.json" -o served-openapi.json
.venv/bin/openapi-spec-validator --schema 3.1 served-openapi.json

echo "--> openapi-typescript + tsc --strict"
npm run -s generate
npm run -s typecheck

echo "--> Swagger UI in headless Chromium"
npm run -s swagger-ui

echo "--> frontend journey (openapi-fetch)"
npm run -s journey
