#!/usr/bin/env bash
# `make run`: the desktop console on the demo database, connected to
# a live local PSP. Starts the sandbox on a fixed loopback port with the demo's
# pending vouchers (some are paid within the first minutes), makes sure the
# demo PSP accounts exist, opens the app, and stops the sandbox when the app exits.
# Expects VD, APP, DEMO_DB, SANDBOX_PORT, SANDBOX_URL, DEMO_SYNC_TICK_MS from the Makefile.
set -euo pipefail

preload="$(dirname "$DEMO_DB")/demo-files/sandbox-preload.json"
sandbox_args=(sandbox --port "$SANDBOX_PORT")
[ -f "$preload" ] && sandbox_args+=(--preload "$preload")

# shellcheck disable=SC2086  # $VD is "binary --db path"
$VD "${sandbox_args[@]}" &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true' EXIT

# The keyring: on a desktop session a Secret Service answers on the session bus.
# Without one the app still opens; its sync indicator and Settings → PSP accounts
# say "the OS credential store is unavailable".
if ! dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
  echo "make run: no Secret Service on the session D-Bus (GNOME Keyring, KWallet…): the PSP accounts' secrets"
  echo "cannot be stored, so the app's PSP sync will say 'the OS credential store is unavailable'."
fi

# The demo accounts (added at demo creation; again here in case the keyring was locked then).
for account in dlocal pagoefectivo; do
  if ! $VD --operator admin credentials list 2>/dev/null | grep -q "^demo-$account "; then
    case $account in
      dlocal) SBX_LOGIN=sbx-login SBX_TRANS_KEY=sbx-trans-key SBX_SECRET=sbx-secret \
        $VD --operator admin credentials add demo-dlocal --psp dlocal --base-url "$SANDBOX_URL" --from-env SBX || true ;;
      pagoefectivo) SBX_SERVICE_ID=1234 SBX_ACCESS_KEY=sbx-pe-access SBX_SECRET=sbx-pe-secret \
        $VD --operator admin credentials add demo-pagoefectivo --psp pagoefectivo --base-url "$SANDBOX_URL" --from-env SBX || true ;;
    esac
  fi
done

echo "sandbox on $SANDBOX_URL (stopped when the app exits); sign in as admin / voucherdesk-admin"
VOUCHERDESK_DB="$DEMO_DB" VOUCHERDESK_SYNC_TICK_MS="$DEMO_SYNC_TICK_MS" "$APP"
