# VoucherDesk: `make run` shows the console on demo data, `make test` runs every test.
# Both install what is missing on Debian/Ubuntu (sudo is used when not root).

CARGO ?= cargo
DEMO_DIR ?= .demo
DEMO_DB ?= $(DEMO_DIR)/voucherdesk.sqlite
DEMO_ORDERS ?= 2000
DEMO_SEED ?= 7
VD = ./target/release/voucherdesk --db $(DEMO_DB)

.PHONY: run test deps build demo bench fmt clean-demo

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

# Creates the demo database on first run, then shows what a new user sees.
run: build
	@if [ ! -f $(DEMO_DB) ]; then \
	  $(VD) demo --orders $(DEMO_ORDERS) --seed $(DEMO_SEED); \
	fi
	@echo; echo "== ledger"; $(VD) stats
	@echo; echo "== reconciliation (as of the demo date, as the manager marta)"; $(VD) --operator marta reconcile --as-of 2026-03-20
	@echo; echo "== exception queue (first 15 open)"; $(VD) exceptions list --limit 15
	@echo; echo "== a support lookup: 'nunez'"; $(VD) lookup nunez | head -n 24
	@echo; echo "Database: $(DEMO_DB). Try: $(VD) lookup <order id | CIP | email | phone | name>"

test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) test --locked --all-targets

bench: build
	bench/run.sh

clean-demo:
	rm -rf $(DEMO_DIR)
