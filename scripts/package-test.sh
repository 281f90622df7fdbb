#!/usr/bin/env bash
# The install test of the package (tests/e2e/package.test.mjs): installs the .deb
# with dpkg, checks `voucherdesk` on the PATH, starts the installed app under Xvfb
# through the e2e harness on a fresh data directory (first run, the admin signed
# in, screenshots in artifacts/screenshots/package-*.png), removes the package and
# checks the data directory stays. Installs system-wide: root, or sudo.
#
#   scripts/package-test.sh [FILE.deb]   (default: the newest .deb `make package` made)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
deb="${1:-$(ls -t "$target"/release/bundle/deb/*.deb 2>/dev/null | head -n 1 || true)}"
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
  echo "package-test: no .deb (looked in $target/release/bundle/deb/): run make package first" >&2
  exit 2
fi
echo "package-test: $deb"
VOUCHERDESK_DEB="$(realpath "$deb")" xvfb-run -a -s "-screen 0 1440x900x24" \
  node --test --test-reporter=spec tests/e2e/package.test.mjs
