#!/usr/bin/env bash
# Runs the README's API tour (every ```sh block from "## API tour" up to "## PostgreSQL") as
# written, top to bottom, in one shell, against a fresh server (debug build, SQLite). Every curl
# fails on an HTTP error unless its block says "# answers 4xx"; a step that yields no id
# (`jq -er`) stops the tour. So the tour cannot rot unnoticed.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
BIN=${PORTAL_API_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/portal-api}
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq jq >/dev/null; }
[ -n "${PORTAL_API_BIN:-}" ] || (cd "$ROOT" && cargo build -q --locked -p api)

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEY=$(python3 -c 'import secrets, string; a = string.ascii_lowercase + string.digits; r = lambda n: "".join(secrets.choice(a) for _ in range(n)); print(f"sk_{r(8)}_{r(32)}")')
API="http://127.0.0.1:$port"
PORTAL_DATA_DIR="$work/data" PORTAL_LISTEN="127.0.0.1:$port" PORTAL_BOOTSTRAP_API_KEY="$KEY" \
    DATABASE_URL= RUST_LOG=warn "$BIN" serve >"$work/stdout" 2>"$work/stderr" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    curl -sf "$API/readyz" >/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$work/stderr"; exit 1; }
    sleep 0.2
done

python3 - "$ROOT/README.md" >"$work/tour.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
tour = text[text.index("\n## API tour"):text.index("\n## PostgreSQL")]
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
API="$API" KEY="$KEY" bash "$work/tour.sh"
echo "README tour passed"
