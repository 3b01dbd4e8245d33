#!/usr/bin/env bash
# Pictures of every screen of the hosted portal, desktop and phone width, for a person to look
# at: `bash tests/contract/screenshots.sh [directory]` (default: target/portal-screenshots).
# Runs the same browser check as CI (portal.ts) against a fresh demo server.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
OUT=$(realpath -m "${1:-$ROOT/target/portal-screenshots}")
. ./server.sh
npm ci --no-audit --no-fund --loglevel=error
if [ ! -x /usr/bin/chromium ]; then
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi
start_server --demo
SCREENSHOTS="$OUT" npm run -s portal
echo "screenshots in $OUT"
