#!/usr/bin/env bash
# Installs what building and testing VoucherDesk needs on Debian/Ubuntu, and
# nothing when it is already there. Uses sudo when not root.
#
#   core + CLI:    a C compiler, pkg-config, Rust (rustup) with rustfmt
#   desktop app:   WebKitGTK 4.1 and the other Tauri 2 libraries, CJK fonts
#   e2e tests:     webkit2gtk-driver (WebKitWebDriver), Xvfb, xdotool, tauri-driver,
#                  ImageMagick's `import` (screenshots taken from the X display)
#   credentials:   a real Secret Service for tests: dbus-daemon + dbus-send, gnome-keyring-daemon
#   receipts:      pdftotext (poppler-utils) reads the refund PDFs back in tests
#   team mode:     PostgreSQL's server binaries; each test starts its own private cluster
#                  on loopback (cli/tests/support/team.rs), the system one is not used
#   UI:            Node.js >= 20.19 with npm, and ui/node_modules from the lockfile
#   packages:      Tauri's bundler (`make package`) is @tauri-apps/cli, a devDependency in
#                  ui/package.json: the lockfile pins it, `npm ci` below installs it
set -euo pipefail
cd "$(dirname "$0")/.."
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

apt_packages=(
  build-essential pkg-config file
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev
  webkit2gtk-driver xvfb xauth xdotool imagemagick fonts-noto-cjk
  dbus-daemon dbus-bin gnome-keyring
  poppler-utils
  postgresql
)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust is required: install it with rustup, then run make again" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt >/dev/null 2>&1 || true

# The UI's build tools (Vite) need Node.js 20.19 or newer.
node_version="$(node -p 'process.versions.node' 2>/dev/null || echo 0)"
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "Node.js $node_version is too old for the UI build (needs >= 20.19): install a newer nodejs package" >&2
  exit 1
fi

# tauri-driver: the WebDriver server the e2e suite talks to (it starts WebKitWebDriver).
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "installing tauri-driver (cargo install)"
  cargo install tauri-driver --version '^2' --locked --quiet
fi

# ui/node_modules exactly as the lockfile says; reinstalled only when the lockfile changed.
lock_sum="$(sha256sum ui/package-lock.json | cut -d' ' -f1)"
stamp=ui/node_modules/.installed-from-lock
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  # Packages installed after the lockfile last changed, and complete, are kept.
  if [ -f ui/node_modules/.package-lock.json ] && [ ui/node_modules/.package-lock.json -nt ui/package-lock.json ] \
    && (cd ui && npm ls --depth=0 >/dev/null 2>&1); then
    :
  else
    echo "installing the UI's npm packages (npm ci)"
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  fi
  echo "$lock_sum" > "$stamp"
fi
