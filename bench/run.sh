#!/usr/bin/env bash
# The benchmark: voucherdesk against two Python peers doing the same work.
#   bench/run.sh [ORDERS] [SEED]        (defaults 1000000 42; run from the repo root)
#
# 1. bench/.venv with bench/requirements.txt (created or refreshed when missing/stale)
# 2. cargo build --release (and the lookup_latency example, when it exists)
# 3. demo files in bench/data/ (kept when they are for the same ORDERS and SEED)
# 4. voucherdesk: bench/import_reconcile.sh (files -> exception queue), then
#    lookup latency when target/release/examples/lookup_latency exists
# 5. the peers, each timed with /usr/bin/time: bench/peer_duckdb.py (DuckDB
#    file, 2 threads) and bench/peer_pandas.py (in memory, findings to Parquet)
# 6. bench/daily.sh: a day's files (20,000 orders) into that ledger, then
#    reconcile, as two commands and as one (`import auto --reconcile`), each
#    run's counts checked (bench/out/daily.md)
# 7. every engine's counts must equal bench/data/expected.json's "expected"
#    block: orders, payments, settlements and each exception kind the engine
#    computes (a peer lists them in its JSON's "kinds"; voucherdesk computes
#    all), and `matched` for an engine that computes every kind (it depends on
#    all of them). The table (engine | wall s | rows/s | peak MB | kinds |
#    counts match) is printed and written to bench/out/results.md. Exit 1 on
#    any mismatch.
# Environment: PYTHON (interpreter for the venv, default python3.11),
# BENCH_STEP_LIMIT (seconds per step, default 3600), BENCH_SKIP_BUILD=1 (use
# the binaries already in target/release instead of building).
set -euo pipefail

orders=${1:-1000000}
seed=${2:-42}
[[ $orders =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ ]] || { echo "usage: bench/run.sh [ORDERS] [SEED]" >&2; exit 2; }

cd "$(dirname "$0")/.."
[[ -f Cargo.toml && -f bench/import_reconcile.sh ]] || { echo "run.sh: not in the voucherdesk repo" >&2; exit 2; }

# Every step is bounded; a step over its limit fails the run.
STEP_LIMIT=${BENCH_STEP_LIMIT:-3600}   # seconds, per step
venv=bench/.venv
data=bench/data
out=bench/out
bin=target/release/voucherdesk
mkdir -p "$out"

say() { printf '\n== %s\n' "$*" >&2; }

# ------------------------------------------------------------------ 1. venv
say "python venv ($venv)"
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [[ ! -x $venv/bin/python ]] || ! cmp -s bench/requirements.txt "$venv/.installed-requirements"; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  timeout "$STEP_LIMIT" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
  cp bench/requirements.txt "$venv/.installed-requirements"
fi
py=$venv/bin/python
"$py" -c 'import duckdb, pandas, pyarrow, sys; print(f"python {sys.version.split()[0]}, duckdb {duckdb.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}")' >&2

# ----------------------------------------------------------------- 2. build
if [[ ${BENCH_SKIP_BUILD:-0} == 1 ]]; then
  say "cargo build skipped (BENCH_SKIP_BUILD=1): using the binaries in target/release"
else
  say "cargo build --release"
  timeout "$STEP_LIMIT" cargo build --release
  if [[ -f examples/lookup_latency.rs ]]; then
    timeout "$STEP_LIMIT" cargo build --release -p voucherdesk --example lookup_latency
  fi
fi
[[ -x $bin ]] || { echo "run.sh: no $bin" >&2; exit 1; }

# ------------------------------------------------------------ 3. demo files
stamp="orders=$orders seed=$seed"
if [[ -f $data/expected.json && -f $data/.params && "$(cat "$data/.params")" == "$stamp" ]]; then
  say "demo files: reusing $data ($stamp)"
else
  say "demo files: generating $data ($stamp)"
  rm -rf "$data"
  mkdir -p "$data"
  timeout "$STEP_LIMIT" "$bin" demo --out "$data" --orders "$orders" --seed "$seed" >&2
  [[ -f $data/expected.json ]] || { echo "run.sh: the demo wrote no $data/expected.json" >&2; exit 1; }
  echo "$stamp" > "$data/.params"
fi

# ------------------------------------------------------------ 4. voucherdesk
say "voucherdesk: files -> exception queue"
db=$out/vd.sqlite
timeout "$STEP_LIMIT" bench/import_reconcile.sh "$bin" "$data" "$db" | tee "$out/voucherdesk.times"
vd_wall=$(awk '$1 == "files_to_queue" { print $2 }' "$out/voucherdesk.times")
vd_kb=$(awk '$3 == "s" && $5 == "KB" && $4 > max { max = $4 } END { print max + 0 }' "$out/voucherdesk.times")
[[ -n $vd_wall ]] || { echo "run.sh: import_reconcile.sh printed no files_to_queue line" >&2; exit 1; }

if [[ -x target/release/examples/lookup_latency ]]; then
  say "voucherdesk: lookup latency"
  timeout "$STEP_LIMIT" target/release/examples/lookup_latency "$db" "$orders" | tee "$out/lookup_latency.md"
else
  say "voucherdesk: lookup latency skipped (no target/release/examples/lookup_latency)"
fi

# The counts voucherdesk reached (import_reconcile.sh discards the JSON):
# the same reconciliation again on the same ledger, untimed, as the operator
# import_reconcile.sh registered.
VOUCHERDESK_DB=$db VOUCHERDESK_OPERATOR=bench timeout "$STEP_LIMIT" "$bin" reconcile --as-of 2026-03-20 --json \
  > "$out/voucherdesk.json"

# -------------------------------------------------------------- 5. the peers
peer() {  # peer NAME SCRIPT ARGS...: wall seconds and peak KB go to $out/NAME.time
  local name=$1; shift
  say "peer: $name"
  rm -f "$out/$name.time" "$out/$name.json"
  timeout "$STEP_LIMIT" /usr/bin/time -f '%e %M' -o "$out/$name.time" "$py" "$@" > "$out/$name.json" ||
    { echo "run.sh: peer $name failed (see above)" >&2; exit 1; }
  cat "$out/$name.json" >&2
}
# The contracted fee rate import_reconcile.sh gives voucherdesk, for fee_mismatch.
fee_args=()
fee_bps=$(sed -n 's/.*"dlocal_fee_bps": *\([0-9][0-9]*\).*/\1/p' "$data/expected.json")
[[ -n $fee_bps ]] && fee_args=(--fee-rate "dlocal=$fee_bps")
peer duckdb bench/peer_duckdb.py "$data" --db "$out/peer_duckdb.duckdb" --threads 2 ${fee_args[@]+"${fee_args[@]}"}
peer pandas bench/peer_pandas.py "$data" --findings "$out/peer_pandas_findings.parquet" ${fee_args[@]+"${fee_args[@]}"}
read -r duck_wall duck_kb < "$out/duckdb.time"
read -r pandas_wall pandas_kb < "$out/pandas.time"

# ------------------------------------------- 6. the morning's increment
# A day's files (20,000 orders) into the ledger step 4 left, then reconcile;
# bench/daily.sh checks its own counts and writes bench/out/daily.md.
say "voucherdesk: a day's files into the $orders-order ledger"
timeout "$STEP_LIMIT" bench/daily.sh 20000 $((seed + 1)) "$db" "$data" ||
  { echo "run.sh: bench/daily.sh failed (see above)" >&2; exit 1; }

# ------------------------------------------------------ 7. check and report
say "results"
"$py" - "$data/expected.json" "$out/results.md" \
  "voucherdesk" "$vd_wall" "$vd_kb" "$out/voucherdesk.json" \
  "duckdb (peer)" "$duck_wall" "$duck_kb" "$out/duckdb.json" \
  "pandas (peer)" "$pandas_wall" "$pandas_kb" "$out/pandas.json" <<'PY'
# Each engine is held to the counts of the work it does: the row counts, and
# each exception kind it computes (a peer's JSON lists them in "kinds";
# voucherdesk's has no such list and must match every kind). `matched` (paid
# orders with no finding of any kind) is compared only for an engine that
# computes every kind. A peer that computes fewer kinds does less work than
# voucherdesk, so its time flatters it: the comparison stays conservative.
import json, sys
expected_path, results_path, *rest = sys.argv[1:]
spec = json.load(open(expected_path))
expected = spec["expected"]
all_kinds = sorted(expected["exceptions"])
rows = sum(int(f["rows"]) for f in spec["files"])
lines = [
    f"{rows:,} input rows (orders + payment rows incl. the early file + settlement rows), "
    f"as of {spec.get('as_of', '?')}, seed {spec.get('seed', '?')}.",
    "",
    f"| engine | wall s | rows/s | peak MB | kinds computed (of {len(all_kinds)}) | counts match |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
]
failures = []
for i in range(0, len(rest), 4):
    name, wall, kb, json_path = rest[i:i + 4]
    wall, kb = float(wall), float(kb)
    kinds = all_kinds
    try:
        got = json.load(open(json_path))
        kinds = sorted(got.get("kinds", all_kinds))
        diff = {k: (got.get(k), expected[k]) for k in ("orders", "payments", "settlements") if got.get(k) != expected[k]}
        unknown = sorted(set(kinds) - set(all_kinds))
        if unknown:
            diff["kinds"] = (unknown, "only kinds expected.json knows")
        if set(kinds) >= set(all_kinds) and got.get("matched") != expected["matched"]:
            diff["matched"] = (got.get("matched"), expected["matched"])
        got_kinds = got.get("exceptions", {})
        diff.update({k: (got_kinds.get(k), expected["exceptions"][k]) for k in kinds
                     if k in expected["exceptions"] and got_kinds.get(k) != expected["exceptions"][k]})
    except (OSError, ValueError, AttributeError, TypeError) as e:
        diff = {"output": (str(e), "a JSON summary")}
    if diff:
        failures.append((name, diff))
    computed = len(set(kinds) & set(all_kinds))
    rate = f"{rows / wall:,.0f}" if wall > 0 else "n/a"
    lines.append(f"| {name} | {wall:.2f} | {rate} | {kb / 1024:,.0f} | {computed} | {'yes' if not diff else 'NO'} |")
table = "\n".join(lines) + "\n"
open(results_path, "w").write(table)
print(table)
for name, diff in failures:
    print(f"COUNTS DIFFER for {name}: " + "; ".join(f"{k}: got {g!r}, expected {e!r}" for k, (g, e) in diff.items()),
          file=sys.stderr)
sys.exit(1 if failures else 0)
PY
