# VoucherDesk: `make run` opens the desktop console on demo data, `make test` runs every test.
# Both install what is missing on Debian/Ubuntu (sudo is used when not root).

CARGO ?= cargo
DEMO_DIR ?= .demo
DEMO_DB ?= $(DEMO_DIR)/voucherdesk.sqlite
DEMO_ORDERS ?= 2000
DEMO_SEED ?= 7
# Cargo's output directory (CARGO_TARGET_DIR when set, as cargo itself does).
TARGET_DIR = $(or $(CARGO_TARGET_DIR),target)
VD = $(TARGET_DIR)/release/voucherdesk --db $(DEMO_DB)
APP_CRATE = voucherdesk-desktop
APP = $(TARGET_DIR)/debug/$(APP_CRATE)
# The demo's live PSP: the sandbox on a fixed loopback port, knowing the demo's pending vouchers.
SANDBOX_PORT ?= 8717
SANDBOX_URL = http://127.0.0.1:$(SANDBOX_PORT)
# The app's background sync rounds in the demo (milliseconds).
DEMO_SYNC_TICK_MS ?= 10000
# The e2e suite needs a display; xvfb-run gives it a virtual one.
XVFB_RUN = xvfb-run -a -s "-screen 0 1440x900x24"

.PHONY: run test deps build ui app demo tour e2e e2e-build bindings package package-test bench bench-app bench-app-release bench-app-db bench-team fmt clean-demo

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

# The web UI, built into ui/dist (the app embeds it at compile time).
ui: deps
	cd ui && npm run build

app: ui
	$(CARGO) build --locked -p $(APP_CRATE)

# The demo database (first run only): 2,000 orders, reconciled, with the sample team.
demo: build
	@if [ ! -f $(DEMO_DB) ]; then \
	  $(VD) demo --orders $(DEMO_ORDERS) --seed $(DEMO_SEED) --sandbox-url $(SANDBOX_URL); \
	fi

# Opens the desktop console on the demo database (sign in as admin / voucherdesk-admin).
run: demo app
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
	  echo; \
	  echo "make run: this machine has no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the"; \
	  echo "desktop window cannot open here. Everything is built: run it where there is a screen with"; \
	  echo "  VOUCHERDESK_DB=$(DEMO_DB) $(APP)"; \
	  echo "or see the console on this machine with 'make tour' (the CLI) or 'make e2e' (the app under Xvfb,"; \
	  echo "screenshots in artifacts/screenshots/)."; \
	  exit 2; \
	fi
	VD="$(VD)" APP="$(APP)" DEMO_DB="$(DEMO_DB)" SANDBOX_PORT=$(SANDBOX_PORT) SANDBOX_URL=$(SANDBOX_URL) \
	  DEMO_SYNC_TICK_MS=$(DEMO_SYNC_TICK_MS) scripts/run-demo.sh

# What the console shows, through the CLI (no display needed).
tour: demo
	@echo; echo "== ledger"; $(VD) stats
	@echo; echo "== reconciliation (as of the demo date, as the manager marta)"; $(VD) --operator marta reconcile --as-of 2026-03-20
	@echo; echo "== exception queue (first 15 open)"; $(VD) exceptions list --limit 15
	@echo; echo "== a support lookup: 'nunez'"; $(VD) lookup nunez | head -n 24
	@echo; echo "Database: $(DEMO_DB). Try: $(VD) lookup <order id | CIP | email | phone | name>"

# Every test. One cargo invocation builds the app and the CLI once (debug);
# the e2e suite drives those same binaries.
test: deps ui
	$(CARGO) fmt --all -- --check
	$(CARGO) test --workspace --locked --all-targets
	cd ui && npm test
	$(XVFB_RUN) node --test --test-concurrency=1 --test-reporter=spec tests/e2e/

# The e2e suite alone (the binaries as `cargo test` builds them, so nothing is built twice).
e2e-build: ui
	$(CARGO) test --workspace --locked --all-targets --no-run
e2e: deps e2e-build
	$(XVFB_RUN) node --test --test-concurrency=1 --test-reporter=spec tests/e2e/

# The Linux packages (docs/OPERATIONS.md "Packages"): the release app and CLI, bundled by Tauri's
# bundler (@tauri-apps/cli, a devDependency of ui/ that `make deps` installs) into
# $(TARGET_DIR)/release/bundle/deb/*.deb and, where its tools can be fetched, appimage/*.AppImage.
# The .deb puts the CLI at /usr/bin/voucherdesk: tauri.conf.json names the default target dir's
# copy; PACKAGE_CONFIG points at this build's.
TAURI = $(CURDIR)/ui/node_modules/.bin/tauri
RELEASE_DIR = $(abspath $(TARGET_DIR))/release
PACKAGE_CONFIG = {"bundle":{"linux":{"deb":{"files":{"/usr/bin/voucherdesk":"$(RELEASE_DIR)/voucherdesk"}},"appimage":{"files":{"/usr/bin/voucherdesk":"$(RELEASE_DIR)/voucherdesk"}}}}}

package: ui
	$(CARGO) build --release --locked -p voucherdesk-cli -p $(APP_CRATE)
	cd src-tauri && $(TAURI) bundle --ci --bundles deb --config '$(PACKAGE_CONFIG)'
	@# The AppImage tools (linuxdeploy, appimagetool) are downloaded from GitHub by the bundler:
	@# where GitHub cannot be reached the .deb is still the package.
	@cd src-tauri && $(TAURI) bundle --ci --bundles appimage --config '$(PACKAGE_CONFIG)' || \
	  echo "make package: the AppImage was NOT built (the bundler could not get its tools; see its error above)" >&2
	@echo "make package: built"; ls -1 $(RELEASE_DIR)/bundle/deb/*.deb $(RELEASE_DIR)/bundle/appimage/*.AppImage 2>/dev/null || true

# Installs the .deb on this machine, drives the installed app's first run, removes it (root or sudo).
package-test:
	scripts/package-test.sh

# Rewrites ui/src/bindings/ from the Rust payload types (commit the result).
bindings: deps
	@test -f ui/dist/index.html || $(MAKE) ui
	UPDATE_BINDINGS=1 $(CARGO) test --locked -p $(APP_CRATE) --test suite bindings::

fmt:
	$(CARGO) fmt --all

bench: build
	bench/run.sh

# The desktop app's speed on 1,000,000 orders (docs/BENCHMARKS.md, "Desktop app on 1,000,000 orders").
# The database is made once (release CLI, ~5 min) and kept; the demo files it came from are removed.
BENCH_APP_DB ?= bench/out/app/voucherdesk.sqlite
BENCH_APP_ORDERS ?= 1000000
BENCH_APP_SEED ?= 42

bench-app-db: build
	@if [ ! -f $(BENCH_APP_DB) ]; then \
	  rm -f $(BENCH_APP_DB).partial*; \
	  $(TARGET_DIR)/release/voucherdesk --db $(BENCH_APP_DB).partial demo --orders $(BENCH_APP_ORDERS) --seed $(BENCH_APP_SEED) && \
	  mv $(BENCH_APP_DB).partial $(BENCH_APP_DB) && rm -rf $(dir $(BENCH_APP_DB))demo-files; \
	fi

# The same debug binary `make run` opens.
bench-app: app bench-app-db
	VOUCHERDESK_APP=$(APP) BENCH_APP_DB=$(BENCH_APP_DB) $(XVFB_RUN) node bench/app_speed.mjs

# Team mode against local mode on the same files, side by side (docs/BENCHMARKS.md, "Team mode").
bench-team:
	bench/team.sh

bench-app-release: ui bench-app-db
	$(CARGO) build --release --locked -p $(APP_CRATE)
	VOUCHERDESK_APP=$(TARGET_DIR)/release/$(APP_CRATE) BENCH_APP_DB=$(BENCH_APP_DB) $(XVFB_RUN) node bench/app_speed.mjs

clean-demo:
	rm -rf $(DEMO_DIR)
