#!/usr/bin/env bash
# SPDX-License-Identifier: BUSL-1.1
# Throughput of a zone against its database, side by side in one run (issue 12's table).
#
#   bash bench/run.sh                 # SQLite, and PostgreSQL when MEZ_BENCH_POSTGRES_URL is set
#   MEZ_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres bash bench/run.sh
#
# For each backend it builds the release binary, starts a sovereign zone and a proxy zone
# whose upstream is that sovereign zone (loopback ports only), and measures with wrk (Debian's
# package, installed here when missing): the direct create, `/v1/entities` sovereign and
# `/v1/entities` proxy at 16 connections for DURATION seconds each, and the p99 latency of the
# sovereign `/v1` create at 16 and at 2 connections. On PostgreSQL, pgbench (the same 16
# clients, one JSON row per transaction) gives what the database itself commits. Then the
# audit chain is verified once and its events per second reported. It prints the figures and
# the ratios issue 12 sets targets for. Bounded: every load runs for a fixed time, and the
# zones it started are stopped when it exits.
set -euo pipefail

DURATION="${MEZ_BENCH_SECONDS:-10}"
CONNS=16
THREADS=2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/mez-bench.XXXXXX)"
TOKEN="bench-token-$$"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

need() { # command package
    if ! command -v "$1" >/dev/null 2>&1; then
        apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null
    fi
}
need wrk wrk
need pgbench postgresql-client

cargo build --release -q -p mez-api --manifest-path "$ROOT/Cargo.toml"
BIN="$ROOT/target/release/mez-api"

# The wrk request: a POST of a JSON body, with the token.
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("MEZ_BENCH_TOKEN")
wrk.body = os.getenv("MEZ_BENCH_BODY")
LUA
export MEZ_BENCH_TOKEN="$TOKEN"

# start_zone NAME DATABASE_URL [UPSTREAM_URL] -> prints the zone's base URL
start_zone() {
    local name="$1" db="$2" upstream="${3:-}" log="$WORK/$1.log"
    mkdir -p "$WORK/$name"
    (
        export DATABASE_URL="$db" MEZ_BIND=127.0.0.1:0 MEZ_DATA_DIR="$WORK/$name" \
            AUTH_TOKEN="$TOKEN" RUST_LOG=warn,mez_api=info
        if [ -n "$upstream" ]; then
            export SOVEREIGN_MASS=false MASS_API_TOKEN="$TOKEN"
            for v in MASS_ORG_INFO_URL MASS_TREASURY_INFO_URL MASS_CONSENT_INFO_URL \
                MASS_INVESTMENT_INFO_URL MASS_TEMPLATING_URL; do export "$v=$upstream"; done
        else
            export SOVEREIGN_MASS=true
        fi
        exec "$BIN"
    ) >"$log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 200); do
        if grep -q "listening on" "$log"; then
            grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1
            return
        fi
        sleep 0.05
    done
    echo "zone $name did not start:" >&2; cat "$log" >&2; exit 1
}

# wrk_run URL CONNECTIONS BODY -> "requests_per_second p99_ms"
wrk_run() {
    local out
    out="$(MEZ_BENCH_BODY="$3" wrk -t"$THREADS" -c"$2" -d"${DURATION}s" --latency \
        -s "$WORK/post.lua" "$1")"
    local rps p99
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")"
    if grep -q "Non-2xx" <<<"$out"; then
        echo "warning: non-2xx answers from $1: $(grep Non-2xx <<<"$out")" >&2
    fi
    echo "$rps $p99"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

DIRECT_BODY='{"name":"Bench Ltd","jurisdiction":"pk"}'
V1_BODY='{"entity_type":"llc","legal_name":"Bench Ltd","jurisdiction_id":"pk"}'

bench_backend() { # LABEL SOVEREIGN_DB PROXY_DB [PG_URL]
    local label="$1" sdb="$2" pdb="$3" pg="${4:-}"
    local sov prx
    sov="$(start_zone "$label-sovereign" "$sdb")"
    prx="$(start_zone "$label-proxy" "$pdb" "$sov")"
    read -r direct _ < <(wrk_run "$sov/organization-info/api/v1/organization/create" $CONNS "$DIRECT_BODY")
    read -r v1 p99_16 < <(wrk_run "$sov/v1/entities" $CONNS "$V1_BODY")
    read -r proxy _ < <(wrk_run "$prx/v1/entities" $CONNS "$V1_BODY")
    read -r _ p99_2 < <(wrk_run "$sov/v1/entities" 2 "$V1_BODY")
    local verify_out events secs
    verify_out="$(curl -s -o "$WORK/verify.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$sov/v1/audit/verify")"
    events="$(grep -o '"events":[0-9]*' "$WORK/verify.json" | cut -d: -f2)"
    secs="$verify_out"
    echo
    echo "== $label =="
    printf '%-34s %10s\n' "direct create (req/s)" "$direct"
    printf '%-34s %10s\n' "/v1/entities sovereign (req/s)" "$v1"
    printf '%-34s %10s\n' "/v1/entities proxy (req/s)" "$proxy"
    printf '%-34s %10s\n' "/v1 / direct" "$(ratio "$v1" "$direct")   (target >= 0.8)"
    printf '%-34s %10s\n' "sovereign / proxy" "$(ratio "$v1" "$proxy")   (target >= 2.0)"
    printf '%-34s %10s\n' "p99 /v1, 16 conns (ms)" "$p99_16   (target <= 10)"
    printf '%-34s %10s\n' "p99 /v1, 2 conns (ms)" "$p99_2   (target <= 5)"
    printf '%-34s %10s\n' "audit verify (events/s)" "$(awk -v e="$events" -v s="$secs" 'BEGIN { printf "%.0f", e / s }') ($events events, valid: $(grep -o '"valid":[a-z]*' "$WORK/verify.json" | cut -d: -f2))"
    if [ -n "$pg" ]; then
        psql -q "$pg" -c "DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id bigserial PRIMARY KEY, body jsonb NOT NULL)" >/dev/null
        echo "INSERT INTO bench_rows (body) VALUES ('{\"name\":\"Bench Ltd\",\"jurisdiction\":\"pk\"}');" > "$WORK/insert.sql"
        local tps
        tps="$(pgbench -n -c $CONNS -j $THREADS -T "$DURATION" -f "$WORK/insert.sql" "$pg" 2>/dev/null \
            | awk '/^tps/ {print $3; exit}')"
        printf '%-34s %10s\n' "pgbench single-row insert (tps)" "$tps"
        printf '%-34s %10s\n' "direct / pgbench" "$(ratio "$direct" "$tps")   (target >= 0.5)"
        printf '%-34s %10s\n' "/v1 / pgbench" "$(ratio "$v1" "$tps")   (target >= 0.3)"
    fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
}

bench_backend sqlite "sqlite://$WORK/sovereign.db" "sqlite://$WORK/proxy.db"

if [ -n "${MEZ_BENCH_POSTGRES_URL:-}" ]; then
    base="${MEZ_BENCH_POSTGRES_URL%/*}"
    suffix="$$"
    for db in "mez_bench_s_$suffix" "mez_bench_p_$suffix" "mez_bench_pg_$suffix"; do
        psql -q "$MEZ_BENCH_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
    done
    bench_backend postgres "$base/mez_bench_s_$suffix" "$base/mez_bench_p_$suffix" "$base/mez_bench_pg_$suffix"
    for db in "mez_bench_s_$suffix" "mez_bench_p_$suffix" "mez_bench_pg_$suffix"; do
        psql -q "$MEZ_BENCH_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    done
fi
