"""Concurrency: Parallel branches and Map iterations run their handlers concurrently, MaxConcurrency is
respected, a failing branch cancels its siblings, and nothing outlives an execution."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import expressway
from expressway import VirtualClock
from helpers import Forever, lambda_arn, task_machine


def only_this_task() -> None:
    assert asyncio.all_tasks() == {asyncio.current_task()}


def task_branch(name: str, state: str = "T") -> dict[str, Any]:
    return {"StartAt": state, "States": {state: {"Type": "Task", "Resource": lambda_arn(name), "End": True}}}


def map_machine(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": task_branch(name), "End": True, **fields}},
    }


class InFlight:
    """Counts the handler calls in flight and the most there ever were."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.calls = 0

    async def handler(self, item: Any) -> Any:
        self.now += 1
        self.calls += 1
        self.most = max(self.most, self.now)
        try:
            for _ in range(5):
                await asyncio.sleep(0)
            return item
        finally:
            self.now -= 1


@pytest.mark.parametrize(("limit", "expected"), [(1, 1), (2, 2), (3, 3), (0, 10)])
def test_map_max_concurrency_bounds_the_handler_calls_in_flight(limit: int, expected: int) -> None:
    counter = InFlight()
    sm = expressway.StateMachine(map_machine("f", MaxConcurrency=limit))
    result = sm.run(list(range(10)), tasks={"f": counter.handler})
    assert result.status == "SUCCEEDED", result
    assert result.output == list(range(10))
    assert counter.calls == 10
    assert counter.most == expected


def test_map_max_concurrency_path() -> None:
    counter = InFlight()
    sm = expressway.StateMachine(map_machine("f", ItemsPath="$.items", MaxConcurrencyPath="$.limit"))
    result = sm.run({"items": list(range(7)), "limit": 2}, tasks={"f": counter.handler})
    assert result.status == "SUCCEEDED", result
    assert counter.most == 2


def test_parallel_branches_run_concurrently() -> None:
    barrier = asyncio.Barrier(3)

    async def meet(event: Any) -> Any:
        await asyncio.wait_for(barrier.wait(), 5)  # only passes if all three calls are in flight at once
        return event

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [task_branch("a", "A"), task_branch("b", "B"), task_branch("c", "C")],
                "End": True,
            }
        },
    }
    sm = expressway.StateMachine(definition)

    async def main() -> expressway.Result:
        result = await sm.execute({"n": 1}, tasks={"a": meet, "b": meet, "c": meet})
        only_this_task()
        return result

    result = asyncio.run(main())
    assert result.status == "SUCCEEDED", result
    assert result.output == [{"n": 1}] * 3


def test_many_executions_share_one_loop() -> None:
    release = asyncio.Event()
    arrived = 0

    async def hold(event: Any) -> Any:
        nonlocal arrived
        arrived += 1
        if arrived == 50:
            release.set()
        await asyncio.wait_for(release.wait(), 5)
        return event

    sm = expressway.StateMachine(task_machine(lambda_arn("hold")))

    async def main() -> list[expressway.Result]:
        results = await asyncio.gather(*(sm.execute({"i": i}, tasks={"hold": hold}) for i in range(50)))
        only_this_task()
        return results

    results = asyncio.run(main())
    assert [r.output for r in results] == [{"i": i} for i in range(50)]


def parallel_with_failing_branch(slow_branches: int = 1) -> dict[str, Any]:
    branches = [task_branch("slow", f"S{i}") for i in range(slow_branches)]
    branches.append(task_branch("boom", "B"))
    return {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches, "End": True}}}


def test_a_failing_branch_cancels_its_slow_siblings() -> None:
    seen: list[str] = []
    started = 0

    async def slow(_event: Any) -> None:
        nonlocal started
        started += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append("CancelledError")
            raise

    async def boom(_event: Any) -> None:
        while started < 2:
            await asyncio.sleep(0)
        raise expressway.TaskFailed("Boom", "branch failed")

    sm = expressway.StateMachine(parallel_with_failing_branch(2))

    async def main() -> expressway.Result:
        result = await sm.execute({}, tasks={"slow": slow, "boom": boom})
        only_this_task()
        return result

    result = asyncio.run(main())
    assert (result.status, result.error, result.cause) == ("FAILED", "Boom", "branch failed")
    assert seen == ["CancelledError", "CancelledError"]


def test_a_failing_branch_cancels_a_sibling_wait_timer() -> None:
    clock = VirtualClock()

    async def boom(_event: Any) -> None:
        await clock.sleep(5)
        raise expressway.TaskFailed("Boom", None)

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 200, "End": True}}},
                    task_branch("boom"),
                ],
                "End": True,
            }
        },
    }
    result = expressway.StateMachine(definition).run({}, tasks={"boom": boom}, clock=clock)
    assert (result.status, result.error) == ("FAILED", "Boom")
    assert result.duration == pytest.approx(5.0)
    assert clock.pending == 0  # the Wait's timer was cancelled with the branch


@pytest.mark.parametrize("sync_boom", [False, True])
def test_a_caught_branch_failure_cancels_siblings_and_continues(sync_boom: bool) -> None:
    seen: list[str] = []

    async def slow(_event: Any) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    def sync(_event: Any) -> None:
        raise expressway.TaskFailed("Boom", "x")

    async def async_(_event: Any) -> None:
        await asyncio.sleep(0)
        raise expressway.TaskFailed("Boom", "x")

    async def check(_event: Any) -> list[str]:
        return list(seen)  # what the sibling had seen by the time the execution went on

    boom = sync if sync_boom else async_
    definition = parallel_with_failing_branch()
    del definition["States"]["P"]["End"]
    definition["States"]["P"].update(
        {"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}], "Next": "NotHere"}
    )
    definition["States"]["Recovered"] = {"Type": "Task", "Resource": lambda_arn("check"), "End": True}
    definition["States"]["NotHere"] = {"Type": "Fail", "Error": "Unexpected"}
    sm = expressway.StateMachine(definition)

    async def main() -> expressway.Result:
        result = await sm.execute({}, tasks={"slow": slow, "boom": boom, "check": check})
        only_this_task()
        return result

    result = asyncio.run(main())
    assert result.status == "SUCCEEDED", result
    assert result.output == seen
    # A sync failure ends the branch before the sibling's coroutine was ever started: it is closed unrun.
    assert seen == ([] if sync_boom else ["cancelled"])


def test_a_failing_map_iteration_cancels_the_others() -> None:
    seen: list[int] = []

    async def item(n: int) -> int:
        if n == 3:
            await asyncio.sleep(0)
            raise expressway.TaskFailed("Bad", f"item {n}")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append(n)
            raise
        return n

    sm = expressway.StateMachine(map_machine("f", MaxConcurrency=4))

    async def main() -> expressway.Result:
        result = await sm.execute(list(range(10)), tasks={"f": item})
        only_this_task()
        return result

    result = asyncio.run(main())
    assert (result.status, result.error) == ("FAILED", "Bad")
    assert sorted(seen) == [0, 1, 2]


def test_stop_cancels_every_branch_and_leaves_nothing_behind() -> None:
    forever = Forever(wait_for=3)

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [task_branch("f", f"T{i}") for i in range(3)],
                "End": True,
            }
        },
    }
    sm = expressway.StateMachine(definition)

    async def main() -> expressway.Result:
        execution = sm.start({}, tasks={"f": forever})
        await forever.started.wait()
        execution.stop("User.Stop", "because")
        result = await execution
        only_this_task()
        return result

    result = asyncio.run(main())
    assert (result.status, result.error, result.cause) == ("ABORTED", "User.Stop", "because")
    assert forever.cancelled == 3


def test_cancelling_the_awaiting_task_cancels_every_branch() -> None:
    forever = Forever()

    sm = expressway.StateMachine(map_machine("f"))

    async def main() -> None:
        task = asyncio.ensure_future(sm.execute([1, 2, 3, 4], tasks={"f": forever}))
        await forever.started.wait()
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        only_this_task()

    asyncio.run(main())
    assert forever.cancelled == 4


def test_a_handler_that_raises_while_being_cancelled_is_not_reported() -> None:
    async def messy(_event: Any) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise RuntimeError("cleanup failed")

    def boom(_event: Any) -> None:
        raise expressway.TaskFailed("Boom", None)

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [task_branch("messy", "M"), task_branch("boom", "B")],
                "End": True,
            }
        },
    }
    sm = expressway.StateMachine(definition)

    async def main() -> expressway.Result:
        result = await sm.execute({}, tasks={"messy": messy, "boom": boom})
        only_this_task()
        return result

    result = asyncio.run(main())
    assert (result.status, result.error) == ("FAILED", "Boom")
