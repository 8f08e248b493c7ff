"""W1-W5 through the embedded API: one execution at a time, and 16 at once on one event loop.

Each benchmark first checks one execution against the workload's expected output (the correctness
gate), then measures. extra_info carries executions/s and transitions/s.
"""

from __future__ import annotations

import asyncio

import pytest
from _support import CONCURRENCY, WORKLOAD_NAMES, load, matches, next_index, record_rates, tasks_for

import expressway


def _check(workload, result, inp) -> None:
    assert result.status == "SUCCEEDED", (workload.name, result.status, result.error, result.cause)
    assert matches(workload.expected_for(inp), result.output), (workload.name, result.output)
    assert result.transitions == workload.transitions, (workload.name, result.transitions)


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_serial(benchmark, name):
    workload = load(name)
    sm = expressway.StateMachine(workload.definition_json)
    tasks = tasks_for(name)
    inp = workload.input_for(next_index())
    _check(workload, sm.run(inp, tasks=tasks, time_scale=0), inp)

    # Each timed execution's output is read, as a caller would (the Result makes it on first access).
    if name == "w4-task-retry":

        def one():
            return sm.run(workload.input_for(next_index()), tasks=tasks, time_scale=0).output
    else:

        def one():
            return sm.run(inp, tasks=tasks, time_scale=0).output

    benchmark.group = f"workload {name}"
    benchmark(one)
    record_rates(
        benchmark,
        executions_per_round=1,
        transitions=workload.transitions,
        workload=name,
        executor="expressway",
        mode="serial",
    )


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_concurrent16(benchmark, name):
    workload = load(name)
    sm = expressway.StateMachine(workload.definition_json)
    tasks = tasks_for(name)

    async def batch(keep: bool = False):
        inputs = [workload.input_for(next_index()) for _ in range(CONCURRENCY)]
        results = await asyncio.gather(*(sm.execute(i, tasks=tasks, time_scale=0) for i in inputs))
        for result in results:
            result.output  # noqa: B018 - read each output, as a caller would
        # Only the check returns the results: CPython 3.11's asyncio.Runner.run formats the repr of
        # its finished task, result included (a ValueError message built by signal.getsignal), which
        # would time reprlib walking 16 inputs and results, not the executions.
        return (inputs, results) if keep else None

    with asyncio.Runner() as runner:
        inputs, results = runner.run(batch(keep=True))
        for inp, result in zip(inputs, results, strict=True):
            _check(workload, result, inp)
        del inputs, results
        benchmark.group = f"workload {name}"
        benchmark(lambda: runner.run(batch()))
    record_rates(
        benchmark,
        executions_per_round=CONCURRENCY,
        transitions=workload.transitions,
        workload=name,
        executor="expressway",
        mode=f"concurrent{CONCURRENCY}",
    )
