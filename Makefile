# expressway: `make run` and `make test` each do all their set-up (a .venv in the repository root with the
# Python tools from PyPI, and the Rust extension built into it in release mode), then their job.

PYTHON ?= python3.11
VENV   := .venv
VPY    := $(VENV)/bin/python
VENV_ABS := $(abspath $(VENV))

# Python tools and the package's own dependencies, kept in step with pyproject.toml ([project]
# dependencies and [project.optional-dependencies] dev): boto3 and awscli are for the service's tests.
PY_DEPS  := "aiohttp>=3.10,<4" "orjson>=3.10" "uvloop>=0.19"
PY_TOOLS := "maturin>=1.5,<2" "pytest>=8" "pytest-timeout>=2.3" "pytest-benchmark>=4" "ruff>=0.6" "boto3>=1.34" "awscli>=1.32"

TOOLS_STAMP := $(VENV)/.tools.stamp
EXT_STAMP   := $(VENV)/.extension.stamp
EXT_INPUTS  := $(shell find rust -name '*.rs' -o -name Cargo.toml 2>/dev/null) Cargo.toml $(wildcard Cargo.lock) pyproject.toml

.PHONY: all setup run test lint fmt clean bench bench-quick

all: test

setup: $(EXT_STAMP)

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(TOOLS_STAMP): $(VPY) Makefile
	$(VPY) -m pip install --quiet --disable-pip-version-check $(PY_DEPS) $(PY_TOOLS)
	touch $@

# `maturin develop` builds the extension into python/expressway/ and installs the package (editable:
# Python changes need no rebuild) with its `expressway` command into the venv.
$(EXT_STAMP): $(TOOLS_STAMP) $(EXT_INPUTS)
	VIRTUAL_ENV=$(VENV_ABS) PATH="$(VENV_ABS)/bin:$$PATH" $(VENV)/bin/maturin develop --release --quiet
	touch $@

# The service on http://127.0.0.1:8083 (in-memory store, the examples' task handlers); Ctrl-C stops it.
run: setup
	@echo "expressway serve: the Step Functions API on http://127.0.0.1:8083"
	@echo "  boto3:   boto3.client('stepfunctions', endpoint_url='http://127.0.0.1:8083', region_name='us-east-1',"
	@echo "             config=botocore.config.Config(inject_host_prefix=False))   # any credentials"
	@echo "  AWS CLI: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 \\"
	@echo "             aws stepfunctions list-state-machines --endpoint-url http://127.0.0.1:8083"
	@echo "  (examples/: order.asl.json runs with the handlers of examples/tasks.py; see the README)"
	$(VPY) -m expressway serve --host 127.0.0.1 --port 8083 --tasks examples/tasks.py:TASKS

test: setup
	cargo test -p expressway-core
	$(VPY) -m pytest

# Benchmarks (benches/, issue 5). moto is the same-run baseline; it goes into the venv only here.
# wrk (Debian's package) is the load generator of benches/bench_service.py; without apt-get that
# benchmark still checks the served output and skips the load.
BENCH_TOOLS  := "moto[stepfunctions]>=5,<6" "jsonata-python>=0.7,<1" "jsonatapy>=2.2,<3"
BENCH_STAMP  := $(VENV)/.bench-tools.stamp
BENCH_REPORT := .benchmarks/report.json
BENCH_PYTEST := $(VPY) -m pytest benches -p no:cacheprovider

$(BENCH_STAMP): $(TOOLS_STAMP)
	$(VPY) -m pip install --quiet --disable-pip-version-check $(BENCH_TOOLS)
	@command -v wrk >/dev/null || { \
	  if command -v apt-get >/dev/null; then \
	    apt-get install -y --no-install-recommends wrk || { apt-get update && apt-get install -y --no-install-recommends wrk; }; \
	  else \
	    echo "make: wrk is not installed and apt-get is not available: install wrk (https://github.com/wg/wrk)" \
	      "for benches/bench_service.py; until then it skips its load runs" >&2; \
	  fi; }
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
