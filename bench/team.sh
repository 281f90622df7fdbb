#!/usr/bin/env bash
# Team mode against local mode, side by side in one run:
#   bench/team.sh [ORDERS] [SEED]      (defaults 1000000 42; run from the repo root; `make bench-team`)
#
# 1. the demo files (bench/data/, shared with bench/run.sh; kept when they match)
# 2. a private PostgreSQL on a loopback port (Debian's postgresql package, as
#    installed by scripts/install-deps.sh; default durability settings), removed at the end
# 3. local: bench/import_reconcile.sh into a SQLite file
# 4. team:  the same script with --db postgres://… (this desktop's copy + the server)
# 5. a second desktop joins the team: its copy pulls everything (`team join`)
# 6. lookup latency on the local file and on the second desktop's copy
# The table goes to stdout and bench/out/team.md. Needs target/release/voucherdesk
# (and the lookup_latency example); BENCH_SKIP_BUILD=1 skips building them.
# BENCH_TEAM_BEFORE=BIN also runs step 4 with an earlier build BIN, first, on a
# fresh server of its own: a before/after row in the same run.
set -euo pipefail
orders=${1:-1000000}
seed=${2:-42}
[[ $orders =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ ]] || { echo "usage: bench/team.sh [ORDERS] [SEED]" >&2; exit 2; }
cd "$(dirname "$0")/.."
bin=$PWD/target/release/voucherdesk
data=bench/data
out=$PWD/bench/out/team
STEP_LIMIT=${BENCH_STEP_LIMIT:-3600}   # seconds, per step
PG_PORT=${BENCH_PG_PORT:-55477}
say() { printf '\n== %s\n' "$*" >&2; }

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  say "cargo build --release"
  timeout "$STEP_LIMIT" cargo build --release --locked -p voucherdesk-cli --bin voucherdesk && timeout "$STEP_LIMIT" cargo build --release --locked -p voucherdesk --example lookup_latency
fi
[[ -x $bin ]] || { echo "team.sh: no $bin" >&2; exit 1; }

say "demo files ($orders orders, seed $seed)"
# Same convention as bench/run.sh, so either script reuses the other's files.
stamp="orders=$orders seed=$seed"
if [[ ! -f $data/expected.json || ! -f $data/.params || "$(cat "$data/.params")" != "$stamp" ]]; then
  rm -rf "$data"
  mkdir -p "$data"
  timeout "$STEP_LIMIT" "$bin" demo --out "$data" --orders "$orders" --seed "$seed" >&2
  echo "$stamp" > "$data/.params"
fi

rm -rf "$out"
mkdir -p "$out"
say "PostgreSQL on 127.0.0.1:$PG_PORT"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg=()
if [[ $(id -u) == 0 ]]; then
  as_pg=(runuser -u postgres --)
  chown postgres "$out"
fi
# A fresh cluster in $out/NAME on PORT, stopped when the script ends.
pg_start() {
  local name=$1 port=$2
  "${as_pg[@]}" "$pg_bin/initdb" -D "$out/$name" -U voucherdesk -A trust -E UTF8 --locale=C >/dev/null
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$out/$name" -l "$out/$name.log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $out -c shared_buffers=512MB -c max_wal_size=4GB" start >/dev/null
  clusters+=("$out/$name")
}
pg_stop_all() {
  for c in "${clusters[@]}"; do "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$c" -m fast -w stop >/dev/null 2>&1 || true; done
}
clusters=()
trap pg_stop_all EXIT
pg_start pg "$PG_PORT"
server="postgres://voucherdesk@127.0.0.1:$PG_PORT/postgres"
"$bin" team init --server "$server" >&2

export XDG_DATA_HOME=$out/xdg   # where --db postgres://… keeps this desktop's copy
seconds() { awk '/^files_to_queue/ {print $2}' "$1"; }

say "local: files -> exception queue"
timeout "$STEP_LIMIT" bench/import_reconcile.sh "$bin" "$data" "$out/local.sqlite" > "$out/local.txt"
cat "$out/local.txt" >&2
before=${BENCH_TEAM_BEFORE:-}
if [[ -n $before ]]; then
  say "team, the earlier build $before: files -> exception queue (a server of its own, stopped after)"
  pg_start pg-before $((PG_PORT + 1))
  before_server="postgres://voucherdesk@127.0.0.1:$((PG_PORT + 1))/postgres"
  "$before" team init --server "$before_server" >&2
  XDG_DATA_HOME=$out/xdg-before timeout "$STEP_LIMIT" bench/import_reconcile.sh "$before" "$data" "$before_server" \
    "$out/team-before.times" > "$out/team-before.txt"
  cat "$out/team-before.txt" >&2
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$out/pg-before" -m fast -w stop >/dev/null
  # Its gigabytes written back first: else the next run pays for them (22 s measured).
  sync
fi
say "team: files -> exception queue (copy + server)"
timeout "$STEP_LIMIT" bench/import_reconcile.sh "$bin" "$data" "$server" "$out/team.times" > "$out/team.txt"
cat "$out/team.txt" >&2

say "a second desktop joins and pulls everything"
start=$(date +%s.%N)
timeout "$STEP_LIMIT" "$bin" --db "$out/desk-b.sqlite" team join --server "$server" | tee "$out/join.txt" >&2
join_s=$(echo "$(date +%s.%N) - $start" | bc)
rows=$(sed -n 's/.*; \([0-9]*\) shared rows).*/\1/p' "$out/join.txt")

lookups() {
  local db=$1
  if [[ -x target/release/examples/lookup_latency ]]; then
    target/release/examples/lookup_latency "$db" "$orders" 2>/dev/null | grep -E '^\|' || true
  fi
}
say "lookup latency: local file"
lookups "$out/local.sqlite" > "$out/lookup-local.md"
say "lookup latency: desk B's copy of the team"
lookups "$out/desk-b.sqlite" > "$out/lookup-team.md"

local_s=$(seconds "$out/local.txt")
team_s=$(seconds "$out/team.txt")
ratio=$(echo "scale=2; $team_s / $local_s" | bc)
{
  echo "| run | files → queue s | × local |"
  echo "|---|---:|---:|"
  echo "| local SQLite | $local_s | 1.00 |"
  if [[ -n $before ]]; then
    before_s=$(seconds "$out/team-before.txt")
    echo "| team, $before | $before_s | $(echo "scale=2; $before_s / $local_s" | bc) |"
  fi
  echo "| team (copy + PostgreSQL) | $team_s | $ratio |"
  echo
  echo "second desktop joining: $join_s s for $rows rows pulled"
  echo
  echo "lookups, local file:"; cat "$out/lookup-local.md"
  echo
  echo "lookups, desk B's copy:"; cat "$out/lookup-team.md"
} | tee "$out/team.md"
