"""The Rust core alone: task-free workloads run N executions per call inside Rust
(``Program.bench``), so no Python runs per execution. transitions/s here is the core's own speed;
the gap to bench_workloads.py is what the Python layer costs.
"""

from __future__ import annotations

import json

import pytest
from _support import QUICK, load, record_rates

from expressway import _core

CORE_WORKLOADS = ("w1-pass-chain", "w2-choice-loop", "w3-map-100", "w5-parallel-3")
BATCH = 10 if QUICK else 200


@pytest.mark.parametrize("name", CORE_WORKLOADS)
def test_core_only(benchmark, name):
    workload = load(name)
    program = _core.Program(workload.definition_json)
    input_json = json.dumps(workload.input)
    executions, transitions, _ = program.bench(input_json, 1)
    assert (executions, transitions) == (1, workload.transitions)

    benchmark.group = f"core {name}"
    benchmark(program.bench, input_json, BATCH)
    record_rates(
        benchmark,
        executions_per_round=BATCH,
        transitions=workload.transitions,
        workload=name,
        executor="expressway-core",
        mode="core-only",
    )
