#!/usr/bin/env bash
# Imports the demo files in DIR into a fresh database and reconciles them,
# printing wall time and peak memory of each step. Used by bench/run.sh.
#   bench/import_reconcile.sh BIN DIR DB [TIMES]
# DB may be postgres://… (team mode, bench/team.sh); TIMES is where the step
# times go (default DB.times).
set -euo pipefail
bin=$1 dir=$2 db=$3 times=${4:-$3.times}
case $db in postgres://*) ;; *) rm -f "$db" "$db-wal" "$db-shm" ;; esac
export VOUCHERDESK_DB=$db VOUCHERDESK_OPERATOR=bench
"$bin" operators add bench --role admin >/dev/null
step() {
  local name=$1; shift
  /usr/bin/time -f "$name %e s %M KB" -a -o "$times" "$@" >/dev/null
}
: > "$times"
start=$(date +%s.%N)
step orders      "$bin" import orders "$dir/orders-co.csv" "$dir/orders-pe.csv" --profile shop --no-index
step dlocal      "$bin" import payments "$dir/dlocal-payments.csv" "$dir/dlocal-payments-early.csv" --profile dlocal --no-index
step pe          "$bin" import payments "$dir/pagoefectivo-payments.csv" --profile pagoefectivo --no-index
step dl-settle   "$bin" import settlements "$dir/dlocal-settlement.tsv" --profile dlocal-settlement --no-index
step pe-settle   "$bin" import settlements "$dir/pagoefectivo-settlement.csv" --profile pagoefectivo-settlement --no-index
step reconcile   "$bin" reconcile --as-of 2026-03-20 --json
end=$(date +%s.%N)
cat "$times"
echo "files_to_queue $(echo "$end - $start" | bc) s"
