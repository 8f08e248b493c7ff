# expressway: `make run` and `make test` each do all their set-up (a .venv in the repository root with the
# Python tools from PyPI, and the Rust extension built into it in release mode), then their job.

PYTHON ?= python3.11
VENV   := .venv
VPY    := $(VENV)/bin/python
VENV_ABS := $(abspath $(VENV))

# Python tools, kept in step with [project.optional-dependencies] dev in pyproject.toml.
PY_TOOLS := "maturin>=1.5,<2" "pytest>=8" "pytest-benchmark>=4" "ruff>=0.6"

TOOLS_STAMP := $(VENV)/.tools.stamp
EXT_STAMP   := $(VENV)/.extension.stamp
EXT_INPUTS  := $(shell find rust -name '*.rs' -o -name Cargo.toml 2>/dev/null) Cargo.toml $(wildcard Cargo.lock) pyproject.toml

.PHONY: all setup run test lint fmt clean bench bench-quick

all: test

setup: $(EXT_STAMP)

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(TOOLS_STAMP): $(VPY) Makefile
	$(VPY) -m pip install --quiet --disable-pip-version-check $(PY_TOOLS)
	touch $@

# `maturin develop` builds the extension into python/expressway/ and installs the package (editable:
# Python changes need no rebuild) with its `expressway` command into the venv.
$(EXT_STAMP): $(TOOLS_STAMP) $(EXT_INPUTS)
	VIRTUAL_ENV=$(VENV_ABS) PATH="$(VENV_ABS)/bin:$$PATH" $(VENV)/bin/maturin develop --release --quiet
	touch $@

run: setup
	@echo "== examples/hello.asl.json"
	$(VPY) -m expressway run examples/hello.asl.json --input-file examples/hello.input.json
	@echo "== examples/order.asl.json"
	$(VPY) -m expressway run examples/order.asl.json --input-file examples/order.input.json \
		--tasks examples/tasks.py:TASKS

test: setup
	cargo test -p expressway-core
	$(VPY) -m pytest

# Benchmarks (benches/, issue 5). moto is the same-run baseline; it goes into the venv only here.
BENCH_TOOLS  := "moto[stepfunctions]>=5,<6"
BENCH_STAMP  := $(VENV)/.bench-tools.stamp
BENCH_REPORT := .benchmarks/report.json
BENCH_PYTEST := $(VPY) -m pytest benches -p no:cacheprovider

$(BENCH_STAMP): $(TOOLS_STAMP)
	$(VPY) -m pip install --quiet --disable-pip-version-check $(BENCH_TOOLS)
	touch $@

# Full sizes; writes $(BENCH_REPORT) and prints the table.
bench: setup $(BENCH_STAMP)
	@mkdir -p $(dir $(BENCH_REPORT))
	$(BENCH_PYTEST) --benchmark-json=$(BENCH_REPORT) --benchmark-columns=mean,ops,rounds
	$(VPY) benches/report.py $(BENCH_REPORT)

# Every benchmark once at small sizes (CI): checks the suite runs, never gates on times.
bench-quick: setup $(BENCH_STAMP)
	EXPRESSWAY_BENCH_QUICK=1 $(BENCH_PYTEST) --benchmark-disable -q

lint: $(TOOLS_STAMP)
	$(VENV)/bin/ruff check python tests examples benches
	$(VENV)/bin/ruff format --check python tests examples benches
	cargo fmt --all --check
	cargo clippy -p expressway-core -p expressway-py -- -D warnings

fmt: $(TOOLS_STAMP)
	$(VENV)/bin/ruff format python tests examples benches
	cargo fmt --all

clean:
	rm -rf $(VENV) target python/expressway/_core*.so .pytest_cache .ruff_cache
