# Sourced by run.sh and tour.sh (after `set -euo pipefail` and ROOT=<repository root>).
# `start_server [serve args...]` builds the server (unless PORTAL_API_BIN names one), starts it on
# a free port over a fresh SQLite data directory with a random bootstrap admin key, waits until
# /readyz answers, and stops it and removes the directory on exit.
# Exports API and KEY; sets `work` (the server's output is in $work/stdout and $work/stderr).

start_server() {
    local bin=${PORTAL_API_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/portal-api}
    [ -n "${PORTAL_API_BIN:-}" ] || (cd "$ROOT" && cargo build -q --locked -p api)
    work=$(mktemp -d)
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    API="http://127.0.0.1:$port"
    KEY=$(python3 -c 'import secrets, string; a = string.ascii_lowercase + string.digits; r = lambda n: "".join(secrets.choice(a) for _ in range(n)); print(f"sk_{r(8)}_{r(32)}")')
    export API KEY
    PORTAL_DATA_DIR="$work/data" PORTAL_LISTEN="127.0.0.1:$port" PORTAL_BOOTSTRAP_API_KEY="$KEY" \
        DATABASE_URL= RUST_LOG=warn \
        "$bin" serve "$@" >"$work/stdout" 2>"$work/stderr" &
    server_pid=$!
    trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 1 150); do
        curl -sf "$API/readyz" >/dev/null && return 0
        kill -0 $server_pid 2>/dev/null || break
        sleep 0.2
    done
    echo "the server did not become ready:" >&2
    cat "$work/stderr" >&2
    return 1
}
