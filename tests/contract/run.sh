#!/usr/bin/env bash
# Third-party checks of the contract, against the real server (debug build, SQLite, a fresh data
# directory, demo data):
#   1. the served /openapi.json passes openapi-spec-validator (OpenAPI 3.1);
#   2. openapi-typescript generates types from it, and a frontend journey written with
#      openapi-fetch type-checks under `tsc --strict` and runs;
#   3. Swagger UI in headless Chromium runs "Try it out" on an admin and a portal operation;
#   4. the hosted portal at /portal/ in headless Chromium (portal.ts).
# Installs what it needs (npm ci, a Python venv, Debian's chromium) idempotently.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
. ./server.sh

echo "--> tools"
npm ci --no-audit --no-fund --loglevel=error
if [ ! -x .venv/bin/openapi-spec-validator ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
fi
if [ ! -x /usr/bin/chromium ]; then
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi

echo "--> server (--demo)"
start_server --demo
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

echo "--> message catalogues"
npm run -s i18n

echo "--> hosted portal in headless Chromium"
npm run -s portal
