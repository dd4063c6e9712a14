#!/usr/bin/env bash
# SPDX-License-Identifier: BUSL-1.1
# Property-based API testing with schemathesis against the zone's own OpenAPI document.
# Starts, on loopback ports, a sovereign zone on SQLite, a sovereign zone on PostgreSQL (when
# MEZ_TEST_POSTGRES_URL is set) and a proxy zone whose upstream is a further sovereign zone,
# and runs `schemathesis run` against each: every check (but for the exclusions in
# schemathesis.toml, which the OpenAPI document marks), the examples, coverage, fuzzing and
# stateful phases, bounded in time. Stops the zones and drops the database it made.
#
#   tests/schemathesis/run.sh [sqlite|postgres|proxy]...   (default: all three)
#
# Environment: SCHEMATHESIS (the executable; default: schemathesis on PATH), ST_MAX_EXAMPLES
# (per operation and phase, default 40), ST_MAX_TIME (seconds per zone, default 170),
# MEZ_TEST_POSTGRES_URL (a server this may create a database on), ST_REPORT_DIR (kept reports).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
st=${SCHEMATHESIS:-schemathesis}
max_examples=${ST_MAX_EXAMPLES:-40}
max_time=${ST_MAX_TIME:-170}
token="st-$RANDOM$RANDOM$RANDOM"
work=$(mktemp -d)
report_dir=${ST_REPORT_DIR:-$work/reports}
pids=()
pg_db=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pg_db" ]; then
    psql "$MEZ_TEST_POSTGRES_URL" -q -c "drop database if exists $pg_db with (force)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build -q -p mez-api --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/mez-api"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_zone() { # name sovereign database_url [upstream]
  local name=$1 sovereign=$2 db=$3 upstream=${4:-} port
  port=$(free_port)
  mkdir -p "$work/$name"
  env SOVEREIGN_MASS="$sovereign" AUTH_TOKEN="$token" MEZ_BIND="127.0.0.1:$port" \
    MEZ_DATA_DIR="$work/$name" DATABASE_URL="$db" RUST_LOG=warn \
    ${upstream:+MASS_API_TOKEN="$token" MASS_ORG_INFO_URL="$upstream" MASS_TREASURY_INFO_URL="$upstream"} \
    ${upstream:+MASS_CONSENT_INFO_URL="$upstream" MASS_INVESTMENT_INFO_URL="$upstream" MASS_TEMPLATING_URL="$upstream"} \
    ${upstream:+MASS_TIMEOUT_SECS=10} \
    "$bin" >"$work/$name.log" 2>&1 &
  pids+=($!)
  local url="http://127.0.0.1:$port" deadline=$((SECONDS + 60))
  until curl -sf "$url/health/readiness" >/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "zone $name did not become ready; its log:" >&2
      cat "$work/$name.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  zone_url=$url
}

failed=()
run_st() { # name url
  local name=$1 url=$2
  echo "---- schemathesis: $name zone at $url (max $max_examples examples, ${max_time}s)"
  local started=$SECONDS
  # schemathesis keeps a cache in its working directory: keep it out of the repository.
  # Every check runs (schemathesis' default; `--checks all` would also override the two
  # per-operation exclusions of schemathesis.toml, which say why).
  if ! (cd "$work" && "$st" --config-file "$root/tests/schemathesis/schemathesis.toml" run "$url/openapi.json" \
    --url "$url" \
    -H "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$max_examples" \
    --max-time "$max_time" \
    --workers 1 \
    --seed "${ST_SEED:-20240601}" \
    --generation-deterministic \
    --request-timeout 20 \
    --warnings off \
    --report junit --report-dir "$report_dir/$name"); then
    failed+=("$name")
    echo "---- zone log ($name), last lines:"
    tail -n 20 "$work/$name.log" || true
  fi
  echo "---- $name: $((SECONDS - started))s"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sqlite postgres proxy)
for target in "${targets[@]}"; do
  case $target in
    sqlite)
      start_zone sqlite true "sqlite://$work/sqlite/mez.db"
      run_st sqlite "$zone_url"
      ;;
    postgres)
      if [ -z "${MEZ_TEST_POSTGRES_URL:-}" ]; then
        echo "SKIPPED postgres: MEZ_TEST_POSTGRES_URL is not set"
        continue
      fi
      pg_db="mez_schemathesis_$$"
      psql "$MEZ_TEST_POSTGRES_URL" -q -c "create database $pg_db" >/dev/null
      start_zone postgres true "${MEZ_TEST_POSTGRES_URL%/*}/$pg_db"
      run_st postgres "$zone_url"
      ;;
    proxy)
      start_zone upstream true "sqlite://$work/upstream/mez.db"
      start_zone proxy false "sqlite://$work/proxy/mez.db" "$zone_url"
      run_st proxy "$zone_url"
      ;;
    *)
      echo "unknown target $target (sqlite, postgres or proxy)" >&2
      exit 2
      ;;
  esac
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "schemathesis found failures on: ${failed[*]}" >&2
  exit 1
fi
echo "schemathesis: no failures on ${targets[*]}"
