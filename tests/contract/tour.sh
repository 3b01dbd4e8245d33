#!/usr/bin/env bash
# Runs the API tour (every ```sh block of docs/tour.md, then of docs/portal.md) as written, top
# to bottom, in one shell, against a fresh server (debug build, SQLite). Every curl fails on an
# HTTP error unless its block says "# answers 4xx"; a step that yields no id (`jq -er`) stops the
# tour. So the tour cannot rot unnoticed.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
. ./server.sh
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq jq >/dev/null; }

start_server

python3 tour_script.py "$ROOT/docs/tour.md" "$ROOT/docs/portal.md" >"$work/tour.sh"
cd "$work"
bash "$work/tour.sh"
echo "API tour passed"
