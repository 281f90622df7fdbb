#!/usr/bin/env bash
# usage: bench/before_after.sh BIN LABEL FILES_DIR — imports the demo files in FILES_DIR into a fresh
# database under bench/out/LABEL, then reconciles; prints the seconds of each step (docs/BENCHMARKS.md).
set -euo pipefail
BIN=$1; L=$2; F=$3; D=bench/out/$L; rm -rf "$D"; mkdir -p "$D"; DB=$D/v.sqlite
$BIN --db $DB operators add admin --role admin --password-stdin <<< "benchmark-password-1" >/dev/null
t() { local s=$(date +%s.%N); "$@" >/dev/null; echo "$(echo "$(date +%s.%N) - $s" | bc)"; }
i1=$(t $BIN --db $DB --operator admin import orders $F/orders-co.csv --profile shop)
i2=$(t $BIN --db $DB --operator admin import orders $F/orders-pe.csv --profile shop)
i3=$(t $BIN --db $DB --operator admin import payments $F/dlocal-payments.csv --profile dlocal)
i4=$(t $BIN --db $DB --operator admin import payments $F/pagoefectivo-payments.csv --profile pagoefectivo)
i5=$(t $BIN --db $DB --operator admin import settlements $F/dlocal-settlement.tsv --profile dlocal-settlement)
i6=$(t $BIN --db $DB --operator admin import settlements $F/pagoefectivo-settlement.csv --profile pagoefectivo-settlement)
r=$(t $BIN --db $DB --operator admin reconcile --as-of 2026-03-20)
imp=$(echo "$i1+$i2+$i3+$i4+$i5+$i6" | bc)
echo "$L import_s=$imp reconcile_s=$r orders=$($BIN --db $DB stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("orders"))')"
