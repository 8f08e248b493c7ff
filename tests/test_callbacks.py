"""``.waitForTaskToken`` tasks in the embedded API (STANDARD machines): the handler gets the token in
its payload (``$$.Task.Token``) and the task waits until the token comes back through the execution
handle (or the handler's own call), or its timeout passes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import expressway

SEND = "arn:aws:states:::sns:publish.waitForTaskToken"


def machine(**task: Any) -> expressway.StateMachine:
    state = {
        "Type": "Task",
        "Resource": SEND,
        "Parameters": {"Message": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
        "End": True,
        **task,
    }
    return expressway.StateMachine({"StartAt": "Ask", "States": {"Ask": state}}, type="STANDARD")


def test_express_machines_refuse_wait_for_task_token() -> None:
    with pytest.raises(expressway.InvalidDefinition, match="waitForTaskToken"):
        expressway.StateMachine(
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": SEND, "End": True}}}, type="EXPRESS"
        )


def test_the_token_comes_back_through_the_execution_handle() -> None:
    tokens: list[str] = []

    async def main() -> expressway.Result:
        execution = machine().start({"n": 3}, tasks={SEND: lambda p: tokens.append(p["Message"]["token"])})
        while not tokens:
            await asyncio.sleep(0.001)
        assert not execution.done()
        assert execution.send_task_success("not-a-token-of-this-execution", {}) is False
        assert execution.send_task_heartbeat(tokens[0]) is True
        assert execution.send_task_success(tokens[0], {"ok": 3}) is True
        assert execution.send_task_success(tokens[0], {"ok": 4}) is False  # spent
        return await execution

    result = asyncio.run(main())
    assert result.status == "SUCCEEDED"
    assert result.output == {"ok": 3}


def test_failure_and_a_handler_that_answers_during_its_own_call() -> None:
    # run() is synchronous: the handler answers through its context, before it returns.
    def fail_at_once(payload: Any, context: expressway.TaskContext) -> None:
        assert context.task_token == payload["Message"]["token"]
        assert context.send_task_failure("Nope", "refused") is True

    result = machine().run({"n": 1}, tasks={SEND: fail_at_once})
    assert (result.status, result.error, result.cause) == ("FAILED", "Nope", "refused")


def test_an_async_handler_sends_the_token_then_the_task_waits_for_it() -> None:
    async def main() -> expressway.Result:
        holder: dict[str, str] = {}

        async def publish(payload: Any) -> dict[str, str]:
            await asyncio.sleep(0.001)
            holder["token"] = payload["Message"]["token"]
            return {"MessageId": "1"}

        execution = machine().start({"n": 2}, tasks={SEND: publish})
        while "token" not in holder:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        assert not execution.done()
        execution.send_task_success(holder["token"], "answered")
        return await execution

    assert asyncio.run(main()).output == "answered"


def test_the_timeout_bounds_the_wait_for_the_token() -> None:
    clock = expressway.VirtualClock()
    result = machine(TimeoutSeconds=30).run({"n": 1}, tasks={SEND: lambda p: None}, clock=clock)
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert result.duration == pytest.approx(30.0)


def test_without_a_handler_a_service_integration_just_waits() -> None:
    clock = expressway.VirtualClock()
    result = machine(HeartbeatSeconds=5).run({"n": 1}, clock=clock)
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")
