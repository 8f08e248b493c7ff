"""The same-run baseline: W1-W5 through moto's ASL interpreter, one execution at a time.

``report.py`` divides expressway's serial executions/s by these to give the ratio per workload.
Skipped when moto is not installed (``make bench`` and ``make bench-quick`` install it).
"""

from __future__ import annotations

import time

import pytest
from _moto import MotoRunner, available
from _support import WORKLOAD_NAMES, load, matches, next_index, record_rates

pytestmark = pytest.mark.skipif(not available(), reason="moto[stepfunctions] is not installed")


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_moto_serial(benchmark, name):
    workload = load(name)
    runner = MotoRunner(name, workload.definition_json)
    inp = workload.input_for(next_index())
    status, output = runner.run(inp)
    assert status == "SUCCEEDED", (name, status, output)
    # moto's output is recorded, not required: on W1 its JSONPath gives `$.items[8].sku` as a list
    # (["SKU-0008"]) where AWS gives the string, so W1 differs while the work done is the same.
    benchmark.extra_info["output_matches"] = matches(workload.expected_for(inp), output)

    def one():
        return runner.run(workload.input_for(next_index()))

    # moto takes up to ~0.3 s per execution: size the rounds to about 2 s (at least 5, at most 500).
    start = time.perf_counter()
    one()
    rounds = max(5, min(500, int(2.0 / max(time.perf_counter() - start, 1e-6))))
    benchmark.group = f"workload {name}"
    benchmark.pedantic(one, rounds=rounds, warmup_rounds=1)
    record_rates(
        benchmark,
        executions_per_round=1,
        transitions=workload.transitions,
        workload=name,
        executor="moto",
        mode="serial",
    )
