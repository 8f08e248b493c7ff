"""Plain sync handlers called by the core itself (``Execution.run_inline``).

A resource's first call goes through the Python driver, which routes it and lists a handler that
takes the payload alone in ``Router.plain``; from then on the core calls that handler directly. Both
paths must give the same outcomes: each case here runs its machine twice with the same tasks (the
second run is the core's) and inside one execution calls the same resource more than once.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import time
import warnings
from typing import Any

import pytest

import expressway
from expressway import TaskFailed
from helpers import lambda_arn

CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "After"}]


def machine(*, retry: list[dict[str, Any]] | None = None, catch: bool = True) -> expressway.StateMachine:
    """Task F then Task G (the same handler), caught into $.caught; then a Pass."""
    first: dict[str, Any] = {
        "Type": "Task",
        "Resource": lambda_arn("f"),
        "ResultPath": "$.first",
        "Next": "G",
    }
    second: dict[str, Any] = {
        "Type": "Task",
        "Resource": lambda_arn("f"),
        "ResultPath": "$.second",
        "Next": "After",
    }
    for state in (first, second):
        if retry is not None:
            state["Retry"] = retry
        if catch:
            state["Catch"] = CATCH_ALL
    return expressway.StateMachine(
        {"StartAt": "F", "States": {"F": first, "G": second, "After": {"Type": "Pass", "End": True}}}
    )


def outcome(result: expressway.Result) -> tuple[Any, ...]:
    """What must not depend on the path; a Lambda error document's requestId differs per call."""
    output = result.output
    if isinstance(output, dict) and "caught" in output:
        cause = output["caught"].get("Cause")
        if isinstance(cause, str) and cause.startswith("{"):
            document = json.loads(cause)
            document.pop("requestId", None)
            output = {**output, "caught": {**output["caught"], "Cause": document}}
    return result.status, result.error, output, result.transitions


class Plain:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self, event: Any) -> Any:
        self.calls += 1
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


async def _later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


@pytest.mark.parametrize(
    "answer",
    [
        {"ok": True},
        [1, "two", None, 3.5, False],
        "text",
        collections.OrderedDict(a=1),  # not exactly a dict: the driver converts it
        {1, 2},  # not JSON: Runtime.MarshalError
        ValueError("bad value"),  # caught: the Lambda error document is the cause
        TaskFailed("Custom.Failure", {"why": "it failed"}),
    ],
    ids=["dict", "list", "str", "dict-subclass", "not-json", "exception", "task-failed"],
)
def test_the_core_calls_a_plain_handler_with_the_drivers_outcomes(answer: Any) -> None:
    sm = machine()
    handler = Plain(answer)
    tasks = {"f": handler}
    first = sm.run({"n": 1}, tasks=tasks, time_scale=0)
    again = sm.run({"n": 1}, tasks=tasks, time_scale=0)
    assert outcome(first) == outcome(again)
    assert first.status == "SUCCEEDED"
    fails = isinstance(answer, (BaseException, set))  # F fails and is caught: G is not called
    assert handler.calls == (2 if fails else 4)
    assert ("caught" in first.output) is fails


def test_the_errors_of_inline_calls_are_those_aws_gives() -> None:
    sm = machine()
    tasks = {"f": Plain(ValueError("bad value"))}
    sm.run({}, tasks=tasks, time_scale=0)  # routes "f": from now on the core calls it
    result = sm.run({}, tasks=tasks, time_scale=0)
    caught = result.output["caught"]
    assert caught["Error"] == "ValueError"
    document = json.loads(caught["Cause"])
    assert document["errorMessage"] == "bad value"
    assert document["errorType"] == "ValueError"
    assert any("raise self.answer" in frame for frame in document["stackTrace"])

    tasks = {"f": Plain({1, 2})}
    sm.run({}, tasks=tasks, time_scale=0)
    result = sm.run({}, tasks=tasks, time_scale=0)
    assert result.output["caught"]["Error"] == "Runtime.MarshalError"


def test_retried_failures_then_success_inline() -> None:
    calls: list[int] = []

    def flaky(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        if len(calls) % 3:
            raise ConnectionError("try again")
        return {"attempts": len(calls)}

    retry = [{"ErrorEquals": ["ConnectionError"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 1}]
    sm = machine(retry=retry, catch=False)
    result = sm.run({}, tasks={"f": flaky}, time_scale=0)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"first": {"attempts": 3}, "second": {"attempts": 6}}
    assert len(calls) == 6


def test_an_async_handler_is_still_awaited() -> None:
    sm = machine()

    async def handler(event: Any) -> dict[str, Any]:
        return await _later({"async": True})

    tasks = {"f": handler}
    for _ in range(2):
        result = sm.run({}, tasks=tasks, time_scale=0)
        assert result.status == "SUCCEEDED"
        assert result.output == {"first": {"async": True}, "second": {"async": True}}


LOOP = {
    "StartAt": "Work",
    "States": {
        "Work": {"Type": "Task", "Resource": lambda_arn("work"), "ResultPath": None, "Next": "Again"},
        "Again": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
            "Default": "Work",
        },
        "Done": {"Type": "Succeed"},
    },
}


def test_a_stop_asked_for_by_a_handler_ends_a_loop_of_inline_calls() -> None:
    asyncio.run(_stop_from_a_handler())


async def _stop_from_a_handler() -> None:
    sm = expressway.StateMachine(LOOP)
    calls = [0]
    holder: list[expressway.Execution] = []

    def work(event: Any) -> None:
        calls[0] += 1
        if calls[0] == 5:
            holder[0].stop("Stopped.ByHandler", "enough")

    execution = sm.start({}, tasks={"work": work}, time_scale=0)
    holder.append(execution)
    result = await asyncio.wait_for(execution.result(), timeout=30)
    assert result.status == "ABORTED"
    assert result.error == "Stopped.ByHandler"
    assert calls[0] == 5


def test_the_execution_time_limit_ends_a_loop_of_inline_calls() -> None:
    sm = expressway.StateMachine(LOOP)
    calls = [0]

    def work(event: Any) -> None:
        calls[0] += 1
        time.sleep(0.005)

    result = sm.run({}, tasks={"work": work}, time_scale=0, max_duration=0.1)
    assert result.status == "TIMED_OUT"
    assert 2 <= calls[0] <= 40


def _answering_machine(**after_wait: Any) -> expressway.StateMachine:
    """A Parallel: one branch waits in a .waitForTaskToken task (handler ``waiter``, then
    ``after_wait``: ``End`` or ``Next``), the other waits a second and calls the plain handler
    ``answer``, which answers that token (branch "C", when named, calls the handler ``c``)."""
    waiting: dict[str, Any] = {
        "Wait": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "waiter", "Payload": {"token.$": "$$.Task.Token"}},
            **after_wait,
        }
    }
    if after_wait.get("Next") == "C":
        waiting["C"] = {"Type": "Task", "Resource": lambda_arn("c"), "End": True}
    answering = {
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Answer"},
        "Answer": {"Type": "Task", "Resource": lambda_arn("answer"), "End": True},
    }
    branches = [{"StartAt": "Wait", "States": waiting}, {"StartAt": "Pause", "States": answering}]
    definition = {
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "End": True, "Branches": branches}},
    }
    return expressway.StateMachine(definition, type="STANDARD")


def test_a_handler_may_use_its_own_execution() -> None:
    """The core is not borrowed while it calls a handler: a handler that answers another task's
    token of the same execution works."""
    sm = _answering_machine(End=True)
    tokens: list[str] = []
    holder: list[expressway.Execution] = []

    def waiter(payload: dict[str, Any]) -> None:
        tokens.append(payload["token"])

    def answer(event: Any) -> dict[str, Any]:
        assert holder[0].send_task_success(tokens[-1], {"answered": True})
        return {"sent": True}

    tasks = {"waiter": waiter, "answer": answer}

    async def main() -> list[expressway.Result]:
        results = []
        for _ in range(2):  # the same tasks: the second time, the core calls `answer` itself
            execution = sm.start({}, tasks=tasks, time_scale=0)
            holder[:] = [execution]
            results.append(await asyncio.wait_for(execution.result(), timeout=30))
        return results

    for result in asyncio.run(main()):
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert result.output == [{"answered": True}, {"sent": True}]


@pytest.mark.parametrize("exception", [KeyboardInterrupt, SystemExit])
def test_what_is_not_an_exception_propagates_from_an_inline_call(exception: type[BaseException]) -> None:
    sm = machine(catch=True)
    calls = [0]

    def handler(event: Any) -> dict[str, Any]:
        calls[0] += 1
        if calls[0] > 1:  # the first call is the driver's; the second, the core's
            raise exception()
        return {}

    with pytest.raises(exception):
        sm.run({}, tasks={"f": handler}, time_scale=0)
    assert calls[0] == 2


@pytest.mark.timeout(60)
def test_a_loop_of_waits_scaled_to_nothing_still_times_out() -> None:
    """No handler is called at all: the core's rounds must still read the clock and stop at the deadline."""
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "E"}],
                "Default": "W",
            },
            "E": {"Type": "Succeed"},
        },
    }
    result = expressway.StateMachine(definition).run({}, time_scale=0, max_duration=0.2)
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")


def _two_branches(first: dict[str, Any]) -> expressway.StateMachine:
    """A Parallel whose first branch runs ``first`` and whose second calls the plain handler ``b``."""
    return expressway.StateMachine(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {**first, "End": True}}},
                        {
                            "StartAt": "B",
                            "States": {"B": {"Type": "Task", "Resource": lambda_arn("b"), "End": True}},
                        },
                    ],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        }
    )


@pytest.mark.parametrize(
    "first",
    [
        {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "a"}},
        {"Type": "Task", "Resource": lambda_arn("a"), "TimeoutSeconds": 30},
        {"Type": "Task", "Resource": lambda_arn("s")},  # returns a set: left to the driver
    ],
    ids=["lambda-invoke", "timeout", "not-json"],
)
def test_calls_keep_the_order_the_core_gave_them(first: dict[str, Any]) -> None:
    """A call left to the driver comes before the plain calls after it, on every run: the first branch's
    failure is the Parallel's, whether or not the core could have made the second call itself."""
    calls: list[str] = []

    def a(event: Any) -> None:
        calls.append("a")
        raise KeyError("a")

    def s(event: Any) -> set[int]:
        calls.append("a")
        return {1}

    def b(event: Any) -> None:
        calls.append("b")
        raise ValueError("b")

    sm = _two_branches(first)
    tasks = {"a": a, "b": b, "s": s}
    errors = set()
    for _ in range(3):
        calls.clear()
        errors.add(sm.run({}, tasks=tasks, time_scale=0).output["Error"])
        assert calls[0] == "a"
    assert errors == {"Runtime.MarshalError" if first["Resource"] == lambda_arn("s") else "KeyError"}


class _AnswerRun:
    """The handlers of the test below, and what one run of it shares between them."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.c_called = asyncio.Event()
        self.execution: expressway.Execution | None = None

    def waiter(self, payload: dict[str, Any]) -> None:
        self.tokens.append(payload["token"])

    def c(self, event: Any) -> str:
        self.c_called.set()
        return "c"

    async def _until_c(self) -> str:
        await self.c_called.wait()
        return "answered"

    def answer(self, event: Any) -> Any:
        assert self.execution is not None
        assert self.execution.send_task_success(self.tokens[-1], {"ok": 1})
        return self._until_c()  # a sync handler returning an awaitable


def test_an_answer_sent_from_an_inline_call_is_taken_up_at_once() -> None:
    """A handler the core calls answers another task's token and returns an awaitable that waits for
    the task after that one: the answer must be acted on before the awaitable ends."""
    sm = _answering_machine(Next="C")
    run = _AnswerRun()
    tasks = {"waiter": run.waiter, "c": run.c, "answer": run.answer}

    async def main() -> list[expressway.Result]:
        results = []
        for _ in range(2):  # the same handlers: the second time, the core calls `answer` itself
            run.c_called = asyncio.Event()
            run.execution = sm.start({}, tasks=tasks, time_scale=0, max_duration=5)
            results.append(await asyncio.wait_for(run.execution.result(), timeout=30))
        return results

    for result in asyncio.run(main()):
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert result.output == ["c", "answered"]


def test_an_awaitable_left_by_the_first_run_is_not_lost_at_the_deadline() -> None:
    """The first run's calls overran the execution's time: the async call it started is still closed
    (no 'coroutine was never awaited'), and the execution times out."""

    def slow(event: Any) -> int:
        time.sleep(0.15)
        return 1

    async def later(event: Any) -> int:
        return 2

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {"A": {"Type": "Task", "Resource": lambda_arn("slow"), "End": True}},
                    },
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Task", "Resource": lambda_arn("later"), "End": True}},
                    },
                ],
            }
        },
    }
    sm = expressway.StateMachine(definition)
    tasks = {"slow": slow, "later": later}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            result = sm.run({}, tasks=tasks, max_duration=0.1)
            assert result.status == "TIMED_OUT"
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


@pytest.mark.parametrize("is_async", [False, True], ids=["core-called", "driver-called"])
def test_failing_handlers_leave_no_reference_cycles(is_async: bool) -> None:
    # A handler's exception holds its traceback, whose frames could hold it in turn: left to the
    # garbage collector, every failing call would cost a collection's work later. Failures retried
    # unseen and failures caught (their cause made from the traceback) alike.
    attempts: collections.Counter[str] = collections.Counter()

    def fails_once(event: dict[str, Any]) -> dict[str, Any]:
        attempts[event["id"]] += 1
        try:
            raise ValueError("first attempt") if attempts[event["id"]] % 2 else KeyError("second attempt")
        except Exception as exc:
            seen = exc  # noqa: F841 - the frame holds its own exception, as code that logs it may
            raise

    async def fails_once_async(event: dict[str, Any]) -> dict[str, Any]:
        return fails_once(event)

    sm = machine(retry=[{"ErrorEquals": ["ValueError"], "MaxAttempts": 1}])
    tasks = {"f": fails_once_async if is_async else fails_once}

    async def executions(prefix: str, n: int) -> None:
        for i in range(n):
            result = await sm.execute({"id": f"{prefix}{i}"}, tasks=tasks, time_scale=0)
            assert result.output["caught"]["Error"] == "KeyError"

    # One event loop throughout: a loop's own set-up and tear-down leave cycles of their own.
    with asyncio.Runner() as runner:
        runner.run(executions("warm-up", 3))  # routing, caches
        gc.collect()
        gc.disable()
        try:
            runner.run(executions("", 50))
            assert gc.collect() == 0
        finally:
            gc.enable()
