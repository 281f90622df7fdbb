#!/usr/bin/env bash
# Imports the demo files in DIR into a fresh database and reconciles them,
# printing wall time and peak memory of each step. Used by bench/run.sh.
#   bench/import_reconcile.sh BIN DIR DB [TIMES]
# DB may be postgres://… (team mode, bench/team.sh); TIMES is where the step
# times go (default DB.times). When DIR/expected.json names a dlocal_fee_bps,
# that contracted fee rate is set first, untimed (needs dbus-daemon and
# gnome-keyring, as scripts/install-deps.sh installs them).
set -euo pipefail
bin=$1 dir=$2 db=$3 times=${4:-$3.times}
case $db in postgres://*) ;; *) rm -f "$db" "$db-wal" "$db-shm" ;; esac
export VOUCHERDESK_DB=$db VOUCHERDESK_OPERATOR=bench
"$bin" operators add bench --role admin >/dev/null

# The contracted dLocal fee rate the demo's fee_mismatch count assumes
# (expected.json's dlocal_fee_bps), set untimed: it is configuration, not work
# on the files. A rate belongs to a PSP account, and adding one stores its
# secrets in the OS keyring, so this runs on a private D-Bus session with an
# unlocked gnome-keyring-daemon of its own (dbus-daemon, gnome-keyring) that
# stops with it; the secrets are dummies, nothing contacts the PSP.
contract_fee_rate() {
  local bps=$1 tmp
  tmp=$(mktemp -d)
  mkdir -m 700 "$tmp/home" "$tmp/run"
  cat > "$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir=$tmp/run</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
CONF
  BIN=$bin BPS=$bps TMP=$tmp dbus-run-session --config-file="$tmp/bus.conf" -- bash -c '
    set -euo pipefail
    echo bench-keyring | HOME=$TMP/home XDG_DATA_HOME=$TMP/home/data XDG_RUNTIME_DIR=$TMP/run \
      gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
    keyring=$!
    trap "kill $keyring 2>/dev/null || true" EXIT
    for _ in $(seq 150); do   # up to 15 s for the keyring to come up
      dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break
      sleep 0.1
    done
    echo "{\"login\":\"bench\",\"trans_key\":\"bench\",\"secret\":\"bench\"}" |
      "$BIN" credentials add bench-dlocal --psp dlocal --base-url https://sandbox.dlocal.com >/dev/null
    "$BIN" credentials fee-rate bench-dlocal --bps "$BPS" >/dev/null
  ' 2> >(grep -v "Failed to set fd limit" >&2)   # dbus-daemon as root without CAP_SYS_RESOURCE: harmless
  rm -rf "$tmp"
}
fee_bps=$(sed -n 's/.*"dlocal_fee_bps": *\([0-9][0-9]*\).*/\1/p' "$dir/expected.json" 2>/dev/null || true)
if [[ -n $fee_bps ]]; then
  contract_fee_rate "$fee_bps"
fi
step() {
  local name=$1; shift
  /usr/bin/time -f "$name %e s %M KB" -a -o "$times" "$@" > "$times.$name.txt" 2>&1
}
: > "$times"
start=$(date +%s.%N)
# One call, as a merchant loads a run of files: every kind, each file atomic,
# the search index included; its per-file lines go to DB.import.txt.
step import      "$bin" import auto "$dir"/*.csv "$dir"/*.tsv
step reconcile   "$bin" reconcile --as-of 2026-03-20 --json
end=$(date +%s.%N)
cat "$times"
# Per file, from the import's own report (its time includes reading and decoding the file).
sed -n 's/^.*\/\([^/]*\): imported \([0-9]*\) .* in \([0-9]*\) ms .*/  \1 \2 rows \3 ms/p; s/^search index: \(.*\)/  search index: \1/p' "$times.import.txt"
echo "files_to_queue $(echo "$end - $start" | bc) s"
