"""Concurrency is real: 1,000 executions, each a Parallel of 3 tasks whose async handlers
``await asyncio.sleep(0.01)``, on one event loop with ``asyncio.gather``.

Run one after the other, the 3,000 handler calls would take 30 s; concurrently they take one 10 ms
sleep plus the driving overhead, well under a second. The elapsed time is reported in extra_info
(``elapsed_s`` and the ratio to the 10 ms a single handler sleeps); nothing here asserts on time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from _support import QUICK

import expressway

EXECUTIONS = 100 if QUICK else 1_000
BRANCHES = 3
SLEEP_S = 0.01
ROUNDS = 1 if QUICK else 5

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:{}"

DEFINITION = {
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": f"T{i}",
                    "States": {f"T{i}": {"Type": "Task", "Resource": FUNCTION.format(f"t{i}"), "End": True}},
                }
                for i in range(BRANCHES)
            ],
            "End": True,
        }
    },
}


async def _handler(event: Any) -> Any:
    await asyncio.sleep(SLEEP_S)
    return event


TASKS = {f"t{i}": _handler for i in range(BRANCHES)}


async def _run_all(sm: expressway.StateMachine) -> list[expressway.Result]:
    return await asyncio.gather(*(sm.execute({"n": n}, tasks=TASKS) for n in range(EXECUTIONS)))


def test_parallel_executions_on_one_loop(benchmark: Any) -> None:
    sm = expressway.StateMachine(DEFINITION)
    elapsed: list[float] = []

    def once() -> list[expressway.Result]:
        started = time.perf_counter()
        results = asyncio.run(_run_all(sm))
        elapsed.append(time.perf_counter() - started)
        return results

    benchmark.group = "concurrency"
    results = benchmark.pedantic(once, rounds=ROUNDS, warmup_rounds=0 if QUICK else 1)
    assert len(results) == EXECUTIONS
    assert all(r.status == "SUCCEEDED" for r in results)
    assert results[0].output == [{"n": 0}] * BRANCHES
    best = min(elapsed)
    benchmark.extra_info.update(
        executions=EXECUTIONS,
        handler_calls=EXECUTIONS * BRANCHES,
        handler_sleep_s=SLEEP_S,
        elapsed_s=best,
        serial_would_take_s=EXECUTIONS * BRANCHES * SLEEP_S,
        ratio_to_one_sleep=best / SLEEP_S,
    )
    print(f"\n{EXECUTIONS} executions x {BRANCHES} branches: {best * 1000:.1f} ms (best of {len(elapsed)})")
