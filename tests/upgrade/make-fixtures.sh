#!/usr/bin/env bash
# Builds the upgrade fixtures: databases filled by an earlier release, on both backends, that
# tests/tests/upgrade.rs upgrades and reads back. Run it with the earlier release's server:
#
#   git worktree add /tmp/prev <earlier commit> && (cd /tmp/prev && cargo build -p api)
#   PORTAL_API_BIN=/tmp/prev/target/debug/portal-api TEST_DATABASE_URL=postgres://… \
#       bash tests/upgrade/make-fixtures.sh
#
# Each database gets everything the API tour does (docs/tour.md and
# docs/portal.md, run as CI runs them), with the server's workers running. Written to
# tests/upgrade/fixtures/: previous.sqlite.gz (the SQLite file), previous.postgres.sql.gz (pg_dump of
# the schema, its name replaced by @SCHEMA@, INSERT statements), previous.key and previous.token_key
# (the fixtures' own admin key and token key: test data only) and previous.version (the last migration the release had applied).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
OUT=$ROOT/tests/upgrade/fixtures
: "${PORTAL_API_BIN:?the portal-api binary of the earlier release}"
: "${TEST_DATABASE_URL:?a PostgreSQL URL to build the PostgreSQL fixture in}"
mkdir -p "$OUT"
KEY=$(python3 -c 'import secrets, string; a = string.ascii_lowercase + string.digits; r = lambda n: "".join(secrets.choice(a) for _ in range(n)); print(f"sk_{r(8)}_{r(32)}")')
# The key that seals stored secrets (license keys) and signs tokens: the upgraded server needs it.
TOKEN_KEY=k4.local.$(python3 -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode())')
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

python3 "$ROOT/tests/contract/tour_script.py" "$ROOT/docs/tour.md" "$ROOT/docs/portal.md" >"$work/tour.sh"

# fill <DATABASE_URL>: serves the earlier release on it, runs the tour, stops it.
fill() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export API="http://127.0.0.1:$port" KEY
    DATABASE_URL="$1" PORTAL_DATA_DIR="$work/data" PORTAL_LISTEN="127.0.0.1:$port" \
        PORTAL_BOOTSTRAP_API_KEY="$KEY" PORTAL_TOKEN_KEY="$TOKEN_KEY" RUST_LOG=warn "$PORTAL_API_BIN" serve \
        >"$work/stdout" 2>"$work/stderr" &
    local pid=$!
    for _ in $(seq 1 150); do curl -sf "$API/readyz" >/dev/null && break; sleep 0.2; done
    (cd "$work" && bash tour.sh >"$work/tour.out" 2>&1) || { tail -n 20 "$work/tour.out" >&2; tail -n 20 "$work/stderr" >&2; return 1; }
    # And some volume: 40 customers, each with a topped-up wallet and an invoice paid from it.
    local post='curl -sf -H content-type:application/json -H x-api-key:'$KEY
    for i in $(seq 1 40); do
        c=$($post "$API/v1/customers" -d "{\"name\": \"Bulk $i\", \"email\": \"bulk$i@example.com\"}" | jq -er .id)
        w=$($post "$API/v1/wallets" -d "{\"customer_id\": \"$c\", \"currency\": \"USD\"}" | jq -er .id)
        $post "$API/v1/wallets/$w/top_up" -d '{"credits": "100"}' >/dev/null
        inv=$($post "$API/v1/invoices" -d "{\"customer_id\": \"$c\", \"currency\": \"USD\", \"lines\": [{\"description\": \"Seat\", \"quantity\": \"1\", \"unit_amount\": \"7.5\"}]}" | jq -er .id)
        $post -X POST "$API/v1/invoices/$inv/finalize" >/dev/null
        $post "$API/v1/invoices/$inv/payments" -d "{\"amount\": \"7.50\", \"method\": \"wallet\", \"wallet_id\": \"$w\"}" >/dev/null
    done
    sleep 2 # the workers finish what the tour started (deliveries, e-mails)
    kill -TERM $pid && wait $pid || true
}

rm -rf "$work/data"
fill "sqlite://$work/data/portal.db"
python3 - "$work/data/portal.db" "$OUT/previous.sqlite" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
src.execute("VACUUM INTO ?", (sys.argv[2] + ".tmp",))
PY
python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(version) FROM __diesel_schema_migrations").fetchone()[0])' \
    "$OUT/previous.sqlite.tmp" >"$OUT/previous.version"
gzip -9n <"$OUT/previous.sqlite.tmp" >"$OUT/previous.sqlite.gz" && rm "$OUT/previous.sqlite.tmp"

export PGOPTIONS="--client-min-messages=warning"
schema=upgrade_fixture_$$
psql "$TEST_DATABASE_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema"
sep='?'; [[ $TEST_DATABASE_URL == *\?* ]] && sep='&'
fill "$TEST_DATABASE_URL${sep}options=-csearch_path%3D$schema"
pg_dump "$TEST_DATABASE_URL" --schema="$schema" --no-owner --no-privileges --inserts \
    | sed -e "s/\b$schema\b/@SCHEMA@/g" -e '/^SET /d' -e '/^SELECT pg_catalog.set_config/d' \
        -e '/^CREATE SCHEMA/d' -e '/^--/d' -e '/^\\/d' | cat -s | gzip -9n >"$OUT/previous.postgres.sql.gz"
psql "$TEST_DATABASE_URL" -qc "DROP SCHEMA $schema CASCADE"
echo "$KEY" >"$OUT/previous.key"
echo "$TOKEN_KEY" >"$OUT/previous.token_key"
ls -l "$OUT"
