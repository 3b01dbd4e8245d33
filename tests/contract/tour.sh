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

python3 - "$ROOT/docs/tour.md" "$ROOT/docs/portal.md" >"$work/tour.sh" <<'PY'
import re, sys
tour = "\n".join(open(path).read() for path in sys.argv[1:])
print("set -euo pipefail")
print('curl() { if [ "$ALLOW_4XX" = 1 ]; then command curl "$@"; else command curl --fail-with-body "$@"; fi; }')
for n, block in enumerate(re.findall(r"```sh\n(.*?)```", tour, re.S), 1):
    lines = [l for l in block.splitlines() if not re.match(r"\s*export (KEY|API)=", l)]
    print(f"echo '--- tour block {n}' >&2")
    print(f"ALLOW_4XX={1 if re.search(r'# answers 4', block) else 0}")
    print("\n".join(l[3:] if l.startswith("   ") else l for l in lines))
    print("echo")
PY
cd "$work"
bash "$work/tour.sh"
echo "API tour passed"
