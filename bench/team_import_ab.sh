#!/usr/bin/env bash
# Team mode's `import auto` alone, builds side by side: for each round and each
# build, a fresh PostgreSQL cluster on a loopback port (the settings of
# bench/team.sh), `team init`, then the seven demo files of bench/data
# imported into it; prints round, build, wall seconds. With
# BENCH_TEAM_STATEMENTS=1 the server logs each statement over 200 ms, kept as
# bench/out/team-ab-ROUND-RUN.log; BENCH_TEAM_WRAP="perf record -g -o F --"
# runs the import under that command (run from the repo root; bench/run.sh or
# bench/team.sh writes bench/data).
#   bench/team_import_ab.sh ROUNDS BIN [BIN...]
set -euo pipefail
rounds=${1:?usage: bench/team_import_ab.sh ROUNDS BIN [BIN...]}; shift
(( $# > 0 )) || { echo "usage: bench/team_import_ab.sh ROUNDS BIN [BIN...]" >&2; exit 2; }
[[ -f bench/data/expected.json ]] || { echo "team_import_ab.sh: no bench/data (run bench/run.sh first)" >&2; exit 1; }
port=${BENCH_PG_PORT:-55487}
out=$PWD/bench/out/team-ab
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg=()
if [[ $(id -u) == 0 ]]; then as_pg=(runuser -u postgres --); fi
cluster=$out/pg
stop() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$cluster" -m fast -w stop >/dev/null 2>&1 || true; }
trap stop EXIT
export VOUCHERDESK_OPERATOR=bench
n=0
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    n=$((n + 1))
    stop
    rm -rf "$out"; mkdir -p "$out"
    if [[ ${#as_pg[@]} -gt 0 ]]; then chown postgres "$out"; fi
    "${as_pg[@]}" "$pg_bin/initdb" -D "$cluster" -U voucherdesk -A trust -E UTF8 --locale=C >/dev/null
    log_opt=""
    if [[ ${BENCH_TEAM_STATEMENTS:-0} == 1 ]]; then log_opt="-c log_min_duration_statement=200"; fi
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$cluster" -l "$out/server.log" -w \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $out -c shared_buffers=512MB -c max_wal_size=4GB $log_opt" start >/dev/null
    server="postgres://voucherdesk@127.0.0.1:$port/postgres"
    "$bin" team init --server "$server" >/dev/null
    export XDG_DATA_HOME=$out/xdg VOUCHERDESK_DB=$server
    "$bin" operators add bench --role admin >/dev/null
    sync
    start=$(date +%s.%N)
    ${BENCH_TEAM_WRAP:-} env VOUCHERDESK_TRACE=1 "$bin" import auto bench/data/*.csv bench/data/*.tsv > "$out/import.txt" 2>&1
    end=$(date +%s.%N)
    printf '%s %s %.2f\n' "$round" "$bin" "$(echo "$end - $start" | bc)"
    if [[ ${BENCH_TEAM_STATEMENTS:-0} == 1 ]]; then cp "$out/server.log" "$PWD/bench/out/team-ab-$round-$n.log"; fi
  done
done
