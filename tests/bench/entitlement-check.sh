#!/usr/bin/env bash
# Measures POST /v1/entitlements/check, the route merchants call in their hot path: the release
# server on a fresh database, one customer with a running subscription whose plan has two
# entitlements and 10,000 usage events this period, then `wrk` for 10 s (2 threads, 32
# connections). Prints wrk's figures.
#
#   bash tests/bench/entitlement-check.sh sqlite
#   BENCH_DATABASE_URL=postgres://portal_test:portal_test@127.0.0.1:5432/portal_test \
#     bash tests/bench/entitlement-check.sh postgres
set -euo pipefail
backend=${1:-sqlite}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null
(cd "$ROOT" && cargo build -q --release --locked -p api)
bin=${CARGO_TARGET_DIR:-$ROOT/target}/release/portal-api

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
API="http://127.0.0.1:$port"
KEY=$(python3 -c 'import secrets, string; a = string.ascii_lowercase + string.digits; r = lambda n: "".join(secrets.choice(a) for _ in range(n)); print(f"sk_{r(8)}_{r(32)}")')
db=
schema=
if [ "$backend" = postgres ]; then
    : "${BENCH_DATABASE_URL:?set BENCH_DATABASE_URL to a PostgreSQL database}"
    schema="bench_$(date +%s)"
    psql -q "$BENCH_DATABASE_URL" -c "CREATE SCHEMA $schema"
    sep='?'; case "$BENCH_DATABASE_URL" in *\?*) sep='&';; esac
    db="${BENCH_DATABASE_URL}${sep}options=-csearch_path%3D$schema"
fi
cleanup() {
    kill "$server_pid" 2>/dev/null || true
    [ -z "$schema" ] || psql -q "$BENCH_DATABASE_URL" -c "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE" || true
    rm -rf "$work"
}
PORTAL_DATA_DIR="$work/data" PORTAL_LISTEN="127.0.0.1:$port" PORTAL_BOOTSTRAP_API_KEY="$KEY" \
    DATABASE_URL="$db" RUST_LOG=warn "$bin" serve >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
trap cleanup EXIT
for _ in $(seq 1 150); do curl -sf "$API/readyz" >/dev/null && break; sleep 0.2; done

post() { curl -sf "$API$1" -H "x-api-key: $KEY" -H 'content-type: application/json' -d "$2"; }
post /v1/features '{"key": "api_calls", "name": "API calls", "unit": "calls", "aggregation": "count", "unit_price": "0.001", "currency": "USD"}' >/dev/null
post /v1/features '{"key": "seats", "name": "Seats", "unit": "seats", "aggregation": "max", "value_property": "n", "unit_price": "5", "currency": "USD"}' >/dev/null
post /v1/plans '{"code": "team", "name": "Team", "currency": "USD", "interval": "month", "amount": "49",
  "entitlements": [{"feature": "api_calls", "limit": "1000000"}, {"feature": "seats", "limit": "25", "soft": true}]}' >/dev/null
CUS=$(post /v1/customers '{"name": "Bench", "external_id": "bench"}' | jq -er .id)
post /v1/subscriptions "{\"customer_id\": \"$CUS\", \"plan\": \"team\"}" >/dev/null
for b in $(seq 1 10); do
    python3 - "$CUS" "$b" >"$work/batch.json" <<'PY'
import json, sys
cus, b = sys.argv[1], sys.argv[2]
print(json.dumps({"events": [{"event_id": f"e-{b}-{i}", "customer_id": cus, "feature": "api_calls"} for i in range(1000)]}))
PY
    post /v1/events/batch @"$work/batch.json" >/dev/null
done
echo "check: $(post /v1/entitlements/check "{\"customer_id\": \"$CUS\", \"feature\": \"api_calls\", \"quantity\": \"1\"}")"

cat >"$work/check.lua" <<LUA
wrk.method = "POST"
wrk.headers["x-api-key"] = "$KEY"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"customer_id": "$CUS", "feature": "api_calls", "quantity": "1"}'
LUA
echo "POST /v1/entitlements/check on $backend:"
wrk -t2 -c32 -d10s --latency -s "$work/check.lua" "$API/v1/entitlements/check"
