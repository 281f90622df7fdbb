#!/usr/bin/env bash
# The morning's increment: a day's files into a ledger that already holds
# millions of orders, then reconcile. Run bench/run.sh first (it leaves the
# 1M-order ledger in bench/out/vd.sqlite and its files in bench/data).
#   bench/daily.sh [DAY_ORDERS] [SEED] [BASE_DB] [BASE_DATA]
#   (defaults 20000 43 bench/out/vd.sqlite bench/data; run from the repo root)
#
# 1. copies BASE_DB (untimed, once for each way) so the base ledger stays as run.sh left it;
# 2. writes the day's demo files, numbered past the base's orders
#    (`voucherdesk demo --first-order`), into bench/day/;
# 3. times `voucherdesk import auto` of the day's seven files (search index
#    included) and `voucherdesk reconcile`, each a fresh process; then, on a
#    fresh copy, the two in one command (`import auto --reconcile`);
# 4. checks the reconciled counts equal the base's expectations plus the
#    day's (the month's dLocal fee row is one row in both sets) and prints the
#    figures, also into bench/out/daily.md. Exit 1 on any mismatch.
set -euo pipefail
day_orders=${1:-20000}
seed=${2:-43}
base_db=${3:-bench/out/vd.sqlite}
base_data=${4:-bench/data}
cd "$(dirname "$0")/.."
bin=target/release/voucherdesk
[[ -x $bin ]] || { echo "daily.sh: no $bin (cargo build --release)" >&2; exit 1; }
[[ -f $base_db && -f $base_data/expected.json ]] ||
  { echo "daily.sh: no base ledger $base_db with $base_data/expected.json (run bench/run.sh first)" >&2; exit 1; }
py=bench/.venv/bin/python
[[ -x $py ]] || py=python3
out=bench/out
day=bench/day
db=$out/daily.sqlite
as_of=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["as_of"])' "$base_data/expected.json")
base_orders=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["expected"]["orders"])' "$base_data/expected.json")
# Numbered past every order number the base can hold (its demo numbers 1..ORDERS, some unused).
first=$(( $(cut -d' ' -f1 "$base_data/.params" | cut -d= -f2) + 1 ))

rm -rf "$day" "$db" "$db-wal" "$db-shm"
# The copy is as large as the ledger (4 GB at 5M): left behind, it crowds the
# page cache the next run's ledger needs, and slowed a 5M import 2×.
trap 'rm -f "$db" "$db-wal" "$db-shm" "$db.audit-anchor"' EXIT
"$bin" demo --out "$day" --orders "$day_orders" --seed "$seed" --first-order "$first" --json > "$out/day-expected.json"
# A fresh copy of the base for each way of running the day: untimed.
fresh_copy() {
  rm -f "$db" "$db-wal" "$db-shm" "$db.audit-anchor"
  cp "$base_db" "$db"
  # The copy's pages on disk (else the day's first checkpoint pays for writing
  # the whole copy) and in the page cache, as a desktop that has been open all
  # day has them.
  sync "$db"
  cat "$db" > /dev/null
}
export VOUCHERDESK_DB=$db VOUCHERDESK_OPERATOR=bench

times=$out/daily.times
: > "$times"
step() { local name=$1; shift; /usr/bin/time -f "$name %e s %M KB" -a -o "$times" "$@"; }
# Two commands, each a fresh process; then one, `import auto --reconcile`.
fresh_copy
step import "$bin" import auto "$day"/*.csv "$day"/*.tsv > "$out/daily-import.txt" 2>&1
step reconcile "$bin" reconcile --as-of "$as_of" --json > "$out/daily.json" 2> "$out/daily-reconcile.txt"
cat "$out/daily-import.txt" "$out/daily-reconcile.txt" >&2
fresh_copy
step one_call "$bin" import auto "$day"/*.csv "$day"/*.tsv --reconcile --as-of "$as_of" --json \
  > "$out/daily-one-call.json" 2> "$out/daily-one-call.txt"
tail -2 "$out/daily-one-call.txt" >&2

"$py" - "$base_data/expected.json" "$out/day-expected.json" "$out/daily.json" "$out/daily-one-call.json" "$times" "$out/daily.md" "$base_orders" "$day_orders" <<'PY'
import json, sys
base_path, day_path, got_path, one_call_path, times_path, md_path, base_orders, day_orders = sys.argv[1:]
base = json.load(open(base_path))["expected"]
day = json.load(open(day_path))
day_rows = sum(int(f["rows"]) for f in day["files"])
day = day["expected"]
got = json.load(open(got_path))
one_call = json.load(open(one_call_path))["reconciled"]
want = {k: base[k] + day[k] for k in ("orders", "payments", "settlements", "matched")}
want["settlements"] -= 1  # the month's dLocal fee row is the same row in both sets
diff = {}
for way, summary in (("two commands", got), ("one call", one_call)):
    diff.update({f"{way}: {k}": (summary.get(k), v) for k, v in want.items() if summary.get(k) != v})
    for kind in base["exceptions"]:
        w = base["exceptions"][kind] + day["exceptions"][kind]
        if summary["exceptions"].get(kind) != w:
            diff[f"{way}: {kind}"] = (summary["exceptions"].get(kind), w)
steps = {}
for line in open(times_path):
    name, secs, _, kb, _ = line.split()
    steps[name] = (float(secs), int(kb))
total = steps["import"][0] + steps["reconcile"][0]
lines = [
    f"{int(day_orders):,} orders ({day_rows:,} rows in 7 files) into a ledger of {int(base_orders):,} orders, as of {got['as_of']}.",
    "",
    "| step | wall s | peak MB |",
    "| --- | ---: | ---: |",
]
lines += [f"| {name} | {steps[name][0]:.2f} | {steps[name][1] / 1024:,.0f} |" for name in ("import", "reconcile")]
lines += [f"| **import + reconcile, two commands** | **{total:.2f}** | |"]
lines += [f"| **`import auto --reconcile`, one command** | **{steps['one_call'][0]:.2f}** | {steps['one_call'][1] / 1024:,.0f} |"]
lines += ["", f"counts match: {'yes' if not diff else 'NO'}"]
text = "\n".join(lines) + "\n"
open(md_path, "w").write(text)
print(text)
if diff:
    print("COUNTS DIFFER: " + "; ".join(f"{k}: got {g!r}, expected {e!r}" for k, (g, e) in diff.items()), file=sys.stderr)
    sys.exit(1)
PY
