#!/usr/bin/env bash
# Builds side by side on one import: `import auto` of the demo files in bench/data
# into a fresh file, each build in turn, ROUNDS times (run from the repo root;
# bench/run.sh writes bench/data). Prints one line a run: round, build, wall s,
# and the import's search index line.
#   bench/import_ab.sh ROUNDS BIN [BIN...]
set -euo pipefail
rounds=${1:?usage: bench/import_ab.sh ROUNDS BIN [BIN...]}; shift
(( $# > 0 )) || { echo "usage: bench/import_ab.sh ROUNDS BIN [BIN...]" >&2; exit 2; }
[[ -f bench/data/expected.json ]] || { echo "import_ab.sh: no bench/data (run bench/run.sh first)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export VOUCHERDESK_OPERATOR=bench
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    export VOUCHERDESK_DB=$work/ab.sqlite
    rm -f "$work"/ab.sqlite*
    "$bin" operators add bench --role admin >/dev/null
    start=$(date +%s.%N)
    "$bin" import auto bench/data/*.csv bench/data/*.tsv > "$work/out" 2>&1
    end=$(date +%s.%N)
    printf '%s %s %.2f %s\n' "$round" "$bin" "$(echo "$end - $start" | bc)" "$(grep -o 'search index.*' "$work/out" || true)"
  done
done
