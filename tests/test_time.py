"""Time: task timeouts and heartbeats, the Express maximum duration, Wait and retry pauses, the
virtual clock that lets tests run minutes of execution time instantly. No wall-clock assertions."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

import expressway
from expressway import TaskContext, VirtualClock
from helpers import FakeClock, Forever, lambda_arn, task_machine


def only_this_task() -> None:
    assert asyncio.all_tasks() == {asyncio.current_task()}


def wait_machine(seconds: float) -> dict[str, Any]:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}


# ---------------------------------------------------------------- the virtual clock


def test_virtual_clock_runs_timers_in_order_when_advanced() -> None:
    clock = VirtualClock(1000.0, auto=False)
    fired: list[tuple[str, float]] = []
    clock.call_later(2, lambda: fired.append(("b", clock())))
    clock.call_later(1, lambda: fired.append(("a", clock())))
    clock.call_later(5, lambda: fired.append(("never", clock()))).cancel()
    clock.advance(1.5)
    assert fired == [("a", 2000.0)]
    assert clock() == 2500.0
    clock.advance(10)
    assert fired == [("a", 2000.0), ("b", 3000.0)]
    assert clock() == 12500.0


def test_virtual_clock_jumps_to_the_next_timer_when_the_loop_is_idle() -> None:
    clock = VirtualClock(0.0)

    async def main() -> list[float]:
        seen = []
        for _ in range(3):
            await clock.sleep(100)
            seen.append(clock())
        return seen

    assert asyncio.run(main()) == [100_000.0, 200_000.0, 300_000.0]


def test_a_handler_can_sleep_in_virtual_time() -> None:
    clock = VirtualClock()

    async def slow(event: Any) -> Any:
        await clock.sleep(60)
        return event

    sm = expressway.StateMachine(task_machine(lambda_arn("slow")))
    result = sm.run({"a": 1}, tasks={"slow": slow}, clock=clock)
    assert result.status == "SUCCEEDED", result
    assert result.duration == pytest.approx(60.0)


# ---------------------------------------------------------------- the Express limit


def test_a_400_second_wait_times_out_at_the_300_second_limit() -> None:
    clock = VirtualClock()
    result = expressway.StateMachine(wait_machine(400)).run({}, clock=clock)
    assert result.status == "TIMED_OUT", result
    assert result.duration == pytest.approx(300.0)
    assert result.output is None
    assert clock.pending == 0  # the Wait's timer did not outlive the execution


def test_a_200_second_wait_finishes_under_the_limit() -> None:
    clock = VirtualClock()
    result = expressway.StateMachine(wait_machine(200)).run({"x": 1}, clock=clock)
    assert result.status == "SUCCEEDED", result
    assert result.output == {"x": 1}
    assert result.duration == pytest.approx(200.0)


def test_waits_adding_up_past_the_limit_time_out() -> None:
    definition = {
        "StartAt": "W1",
        "States": {
            "W1": {"Type": "Wait", "Seconds": 150, "Next": "W2"},
            "W2": {"Type": "Wait", "Seconds": 100, "Next": "W3"},
            "W3": {"Type": "Wait", "Seconds": 100, "End": True},
        },
    }
    result = expressway.StateMachine(definition).run({}, clock=VirtualClock())
    assert result.status == "TIMED_OUT"
    assert result.duration == pytest.approx(300.0)


def test_max_duration_is_a_parameter() -> None:
    sm = expressway.StateMachine(wait_machine(400))
    assert sm.run({}, clock=VirtualClock(), max_duration=500).status == "SUCCEEDED"
    result = sm.run({}, clock=VirtualClock(), max_duration=10)
    assert result.status == "TIMED_OUT"
    assert result.duration == pytest.approx(10.0)


def test_time_scale_shortens_waits_before_the_limit_is_measured() -> None:
    # max_duration is measured on the clock; time_scale=0.5 makes the 400 s Wait last 200 s.
    result = expressway.StateMachine(wait_machine(400)).run({}, clock=VirtualClock(), time_scale=0.5)
    assert result.status == "SUCCEEDED"
    assert result.duration == pytest.approx(200.0)


def test_time_scale_zero_skips_waits() -> None:
    clock = FakeClock()
    result = expressway.StateMachine(wait_machine(10_000)).run({}, clock=clock, time_scale=0)
    assert result.status == "SUCCEEDED"
    assert result.duration == 0.0


def test_the_limit_cancels_handlers_in_flight_and_leaves_nothing_behind() -> None:
    clock = VirtualClock()
    forever = Forever(sleep=clock.sleep)

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": lambda_arn("f"), "End": True}},
                    },
                    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5000, "End": True}}},
                ],
                "End": True,
            }
        },
    }
    sm = expressway.StateMachine(definition)

    async def main() -> expressway.Result:
        result = await sm.execute({}, tasks={"f": forever}, clock=clock)
        only_this_task()
        return result

    result = asyncio.run(main())
    assert result.status == "TIMED_OUT", result
    assert result.duration == pytest.approx(300.0)
    assert forever.cancelled == 1
    assert clock.pending == 0


class TickingClock(FakeClock):
    """Every reading moves the clock on: an execution that never waits still sees time pass."""

    def __init__(self, tick_s: float) -> None:
        super().__init__()
        self.tick_s = tick_s

    def __call__(self) -> float:
        self.advance(self.tick_s)
        return self.now


def test_an_infinite_pass_choice_loop_is_ended_by_the_limit_while_others_progress() -> None:
    spin = expressway.StateMachine(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "C"},
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.stop", "BooleanEquals": True, "Next": "End"}],
                    "Default": "A",
                },
                "End": {"Type": "Succeed"},
            },
        }
    )
    other = expressway.StateMachine(task_machine(lambda_arn("steps")))
    progress: list[int] = []

    async def steps(event: Any) -> Any:
        for i in range(20):
            await asyncio.sleep(0)
            progress.append(i)
        return event

    async def main() -> tuple[expressway.Result, expressway.Result]:
        looping = asyncio.ensure_future(
            spin.execute({"stop": False}, clock=TickingClock(1.0), max_duration=300)
        )
        done = await other.execute({"ok": True}, tasks={"steps": steps})
        assert not looping.done()  # the loop was still spinning while the other one finished
        result = await looping
        only_this_task()
        return result, done

    looped, done = asyncio.run(main())
    assert done.status == "SUCCEEDED"
    assert progress == list(range(20))
    assert looped.status == "TIMED_OUT"
    assert looped.transitions > 10_000


# ---------------------------------------------------------------- task timeouts and heartbeats


def test_async_handler_past_timeout_seconds_is_cancelled() -> None:
    clock = VirtualClock()
    seen: list[str] = []

    async def slow(_event: Any) -> None:
        try:
            await clock.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    sm = expressway.StateMachine(task_machine(lambda_arn("slow"), TimeoutSeconds=10))
    result = sm.run({}, tasks={"slow": slow}, clock=clock)
    assert (result.status, result.error, result.cause) == ("FAILED", "States.Timeout", None)
    assert result.duration == pytest.approx(10.0)
    assert seen == ["cancelled"]


def test_handler_gets_a_context() -> None:
    contexts: list[TaskContext] = []

    def handler(event: Any, *, context: TaskContext) -> Any:
        contexts.append(context)
        context.heartbeat()  # harmless without HeartbeatSeconds
        return event

    async def async_handler(event: Any, context: TaskContext) -> Any:
        contexts.append(context)
        return event

    definition = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Task", "Resource": lambda_arn("a"), "Next": "Second", "HeartbeatSeconds": 5},
            "Second": {"Type": "Task", "Resource": lambda_arn("b"), "End": True},
        },
    }
    result = expressway.StateMachine(definition).run(
        {"x": 1}, tasks={"a": handler, "b": async_handler}, name="ctx"
    )
    assert result.status == "SUCCEEDED", result
    assert [c.state_name for c in contexts] == ["First", "Second"]
    assert [c.heartbeat_seconds for c in contexts] == [5, None]
    assert contexts[0].token != contexts[1].token
    assert contexts[0].resource == lambda_arn("a")
    assert contexts[0].execution_name == "ctx"


def test_handlers_without_a_context_parameter_get_none() -> None:
    def handler(event: Any, **kwargs: Any) -> Any:
        assert kwargs == {}
        return event

    result = expressway.StateMachine(task_machine(lambda_arn("f"))).run({}, tasks={"f": handler})
    assert result.status == "SUCCEEDED", result


def heartbeat_machine() -> dict[str, Any]:
    return task_machine(lambda_arn("h"), HeartbeatSeconds=10, TimeoutSeconds=100)


def test_heartbeats_keep_a_long_task_alive() -> None:
    clock = VirtualClock()

    async def beating(event: Any, *, context: TaskContext) -> Any:
        for _ in range(9):
            await clock.sleep(8)
            context.heartbeat()
        return event

    result = expressway.StateMachine(heartbeat_machine()).run({"v": 1}, tasks={"h": beating}, clock=clock)
    assert result.status == "SUCCEEDED", result
    assert result.duration == pytest.approx(72.0)


def test_a_missed_heartbeat_fails_the_task_and_cancels_the_handler() -> None:
    clock = VirtualClock()
    seen: list[str] = []

    async def stalls(_event: Any, *, context: TaskContext) -> None:
        try:
            for _ in range(2):
                await clock.sleep(5)
                context.heartbeat()
            await clock.sleep(50)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    result = expressway.StateMachine(heartbeat_machine()).run({}, tasks={"h": stalls}, clock=clock)
    assert (result.status, result.error, result.cause) == ("FAILED", "States.HeartbeatTimeout", None)
    assert result.duration == pytest.approx(20.0)
    assert seen == ["cancelled"]
    assert clock.pending == 0


def test_heartbeats_do_not_extend_timeout_seconds() -> None:
    clock = VirtualClock()

    async def beating_forever(_event: Any, *, context: TaskContext) -> None:
        while True:
            await clock.sleep(5)
            context.heartbeat()

    result = expressway.StateMachine(heartbeat_machine()).run({}, tasks={"h": beating_forever}, clock=clock)
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert result.duration == pytest.approx(100.0)


def test_heartbeat_timeout_can_be_caught() -> None:
    clock = VirtualClock()

    async def silent(_event: Any) -> None:
        await clock.sleep(60)

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": lambda_arn("h"),
                "HeartbeatSeconds": 3,
                "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    result = expressway.StateMachine(definition).run({}, tasks={"h": silent}, clock=clock)
    assert result.status == "SUCCEEDED", result
    assert result.output["Error"] == "States.HeartbeatTimeout"


def test_sync_handler_missing_its_heartbeat_is_checked_after_it_returns(clock: FakeClock) -> None:
    def slow(event: Any) -> Any:
        clock.advance(15)
        return event

    result = expressway.StateMachine(heartbeat_machine()).run({}, tasks={"h": slow}, clock=clock)
    assert (result.status, result.error, result.cause) == ("FAILED", "States.HeartbeatTimeout", None)


def test_sync_handler_that_heartbeats_in_time_succeeds(clock: FakeClock) -> None:
    def beating(event: Any, *, context: TaskContext) -> Any:
        for _ in range(5):
            clock.advance(8)
            context.heartbeat()
        return event

    result = expressway.StateMachine(heartbeat_machine()).run({"a": 1}, tasks={"h": beating}, clock=clock)
    assert result.status == "SUCCEEDED", result


def test_sync_handler_past_timeout_despite_heartbeats(clock: FakeClock) -> None:
    def beating(event: Any, *, context: TaskContext) -> Any:
        for _ in range(15):
            clock.advance(8)
            context.heartbeat()
        return event

    result = expressway.StateMachine(heartbeat_machine()).run({}, tasks={"h": beating}, clock=clock)
    assert (result.status, result.error) == ("FAILED", "States.Timeout")


# ---------------------------------------------------------------- retry pauses


def retry_machine(**retrier: Any) -> dict[str, Any]:
    retry = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 2.0, "MaxAttempts": 5}
    retry.update(retrier)
    return task_machine(lambda_arn("flaky"), Retry=[retry])


def retry_pauses(definition: dict[str, Any], seed: int, time_scale: float = 1.0) -> list[float]:
    """Run a task that always fails and return the pauses between its calls, in seconds."""
    clock = VirtualClock()
    calls: list[float] = []

    def flaky(_event: Any) -> None:
        calls.append(clock())
        raise expressway.TaskFailed("Flaky", "again")

    result = expressway.StateMachine(definition).run(
        {}, tasks={"flaky": flaky}, clock=clock, seed=seed, time_scale=time_scale, max_duration=10_000
    )
    assert (result.status, result.error) == ("FAILED", "Flaky")
    return [(b - a) / 1000.0 for a, b in itertools.pairwise(calls)]


def test_backoff_without_jitter_is_exact() -> None:
    assert retry_pauses(retry_machine(), seed=1) == pytest.approx([2, 4, 8, 16, 32])


def test_backoff_is_capped_by_max_delay_seconds() -> None:
    assert retry_pauses(retry_machine(MaxDelaySeconds=10), seed=1) == pytest.approx([2, 4, 8, 10, 10])


def test_time_scale_multiplies_retry_pauses() -> None:
    assert retry_pauses(retry_machine(), seed=1, time_scale=0.5) == pytest.approx([1, 2, 4, 8, 16])
    assert retry_pauses(retry_machine(), seed=1, time_scale=0) == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("seed", [1, 42, 2**40 + 7])
def test_full_jitter_stays_within_the_backoff_and_is_reproducible(seed: int) -> None:
    definition = retry_machine(JitterStrategy="FULL", MaxDelaySeconds=20, MaxAttempts=8)
    pauses = retry_pauses(definition, seed)
    caps = [min(2 * 2.0**n, 20) for n in range(8)]
    assert len(pauses) == 8
    for pause, cap in zip(pauses, caps, strict=True):
        assert 0 <= pause <= cap + 1e-6
    assert pauses != pytest.approx(caps)  # jittered
    assert retry_pauses(definition, seed) == pauses


def test_full_jitter_differs_between_seeds() -> None:
    definition = retry_machine(JitterStrategy="FULL")
    assert retry_pauses(definition, 1) != retry_pauses(definition, 2)


def test_jitter_none_is_exact() -> None:
    assert retry_pauses(retry_machine(JitterStrategy="NONE"), seed=3) == pytest.approx([2, 4, 8, 16, 32])


def test_definition_timeout_seconds_bounds_the_execution() -> None:
    clock = VirtualClock(auto=True)
    sm = expressway.StateMachine(
        {
            "TimeoutSeconds": 5,
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}},
        }
    )
    result = asyncio.run(sm.execute({}, clock=clock))
    assert result.status == "TIMED_OUT"
    assert result.duration == pytest.approx(5.0)


def test_definition_timeout_seconds_of_zero_sets_no_limit_of_its_own() -> None:
    # As the run's own max_duration counts alone then (a zero TimeoutSeconds is not "time out at
    # once").
    clock = VirtualClock(auto=True)
    sm = expressway.StateMachine(
        {
            "TimeoutSeconds": 0,
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}},
        }
    )
    assert asyncio.run(sm.execute({}, clock=clock)).status == "SUCCEEDED"
    timed_out = asyncio.run(sm.execute({}, clock=clock, max_duration=30))
    assert (timed_out.status, timed_out.duration) == ("TIMED_OUT", pytest.approx(30.0))
