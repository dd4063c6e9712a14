#!/usr/bin/env bash
# SPDX-License-Identifier: BUSL-1.1
# The two-zone topology as two local processes, for machines without Docker:
#   zone B: sovereign, serves the direct Mass surface from its own database;
#   zone A: proxy, sends every Mass operation to zone B's surface over HTTP (never to itself),
#           keeps its own attestations and audit chain in its own database.
# Each zone gets its own SQLite file (or its own PostgreSQL database when ZONE_A_DATABASE_URL /
# ZONE_B_DATABASE_URL are set).
#
#   deploy/two-zone-local.sh            start both, print their URLs and tokens, wait for Ctrl-C
#   deploy/two-zone-local.sh --smoke    start both, run a smoke request through A, stop both
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port_a=${ZONE_A_PORT:-18181}
port_b=${ZONE_B_PORT:-18182}
token_a=${ZONE_A_TOKEN:-zone-a-$RANDOM$RANDOM}
token_b=${ZONE_B_TOKEN:-zone-b-$RANDOM$RANDOM}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build -q -p mez-api --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/mez-api"

wait_ready() { # url name
  local deadline=$((SECONDS + 60))
  until curl -sf "$1/health/readiness" >/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "$2 did not become ready; its log:" >&2
      cat "$work/$2.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

b="http://127.0.0.1:$port_b"
a="http://127.0.0.1:$port_a"

SOVEREIGN_MASS=true AUTH_TOKEN="$token_b" MEZ_BIND="127.0.0.1:$port_b" \
  MEZ_DATA_DIR="$work/zone-b" DATABASE_URL="${ZONE_B_DATABASE_URL:-sqlite://$work/zone-b/mez.db}" \
  "$bin" >"$work/zone-b.log" 2>&1 &
pids+=($!)
wait_ready "$b" zone-b

SOVEREIGN_MASS=false AUTH_TOKEN="$token_a" MEZ_BIND="127.0.0.1:$port_a" \
  MEZ_DATA_DIR="$work/zone-a" DATABASE_URL="${ZONE_A_DATABASE_URL:-sqlite://$work/zone-a/mez.db}" \
  MASS_API_TOKEN="$token_b" MASS_ORG_INFO_URL="$b" MASS_TREASURY_INFO_URL="$b" \
  MASS_CONSENT_INFO_URL="$b" MASS_INVESTMENT_INFO_URL="$b" MASS_TEMPLATING_URL="$b" \
  MASS_TIMEOUT_SECS=10 \
  "$bin" >"$work/zone-a.log" 2>&1 &
pids+=($!)
wait_ready "$a" zone-a

if [ "${1:-}" != "--smoke" ]; then
  echo "zone A (proxy)     $a  token $token_a"
  echo "zone B (sovereign) $b  token $token_b"
  echo "Ctrl-C stops both."
  wait
  exit 0
fi

# Smoke: a /v1 write on A lands on B's direct surface; A keeps the attestation and audit.
envelope=$(curl -sf -X POST "$a/v1/entities" -H "Authorization: Bearer $token_a" \
  -H 'content-type: application/json' \
  -d '{"entity_type":"llc","legal_name":"Two Zone Smoke Ltd","jurisdiction_id":"pk"}')
id=$(printf '%s' "$envelope" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mass_response"]["id"])')
attestation=$(printf '%s' "$envelope" | python3 -c 'import json,sys; print(json.load(sys.stdin)["attestation_id"])')
curl -sf "$b/organization-info/api/v1/organization/$id" -H "Authorization: Bearer $token_b" >/dev/null
curl -sf "$a/v1/attestations/$attestation" -H "Authorization: Bearer $token_a" >/dev/null
status=$(curl -s -o /dev/null -w '%{http_code}' "$a/organization-info/api/v1/organization/$id" \
  -H "Authorization: Bearer $token_a")
[ "$status" = 404 ] || { echo "zone A serves the direct surface ($status)" >&2; exit 1; }
verify=$(curl -sf "$a/v1/audit/verify" -H "Authorization: Bearer $token_a")
printf '%s' "$verify" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["valid"] and r["events"]==1, r'
echo "two-zone smoke: entity $id written through zone A is on zone B; A holds its attestation and a valid audit chain"
