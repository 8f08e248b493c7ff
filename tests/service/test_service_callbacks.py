"""The callback pattern on a STANDARD machine: a ``.waitForTaskToken`` task hands ``$$.Task.Token`` to
its handler and waits; SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat bring the token back, with
AWS's errors for a malformed, unknown or spent token and for output that is not JSON."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from svc_support import ROLE

SEND = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


def callback_machine(timeout: int = 60, heartbeat: int | None = None) -> str:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": SEND,
        "Parameters": {
            "QueueUrl": "https://sqs/q",
            "MessageBody": {"token.$": "$$.Task.Token", "n.$": "$.n"},
        },
        "TimeoutSeconds": timeout,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
        "Next": "Done",
    }
    if heartbeat is not None:
        task["HeartbeatSeconds"] = heartbeat
    return json.dumps(
        {
            "StartAt": "Ask",
            "States": {
                "Ask": task,
                "Caught": {"Type": "Pass", "End": True},
                "Done": {"Type": "Succeed"},
            },
        }
    )


class Outbox:
    """The SQS stand-in: keeps the tokens it was given."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.tokens.append(payload["MessageBody"]["token"])
        return {"MessageId": f"m{len(self.tokens)}"}

    def wait(self, count: int) -> list[str]:
        deadline = time.monotonic() + 10
        while len(self.tokens) < count:
            assert time.monotonic() < deadline, "the task never sent its token"
            time.sleep(0.01)
        return self.tokens


def start(sfn: Any, definition: str, name: str, n: int = 1) -> str:
    arn = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type="STANDARD")[
        "stateMachineArn"
    ]
    return sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": n}))["executionArn"]


def wait_done(sfn: Any, execution: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.01)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_send_task_success_completes_the_task(server_factory: Any) -> None:
    outbox = Outbox()
    _, sfn = server_factory(tasks={SEND: outbox})
    execution = start(sfn, callback_machine(), "Callback")
    (token,) = outbox.wait(1)
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    described = wait_done(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"approved": True}
    events = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    assert events == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    # The token is spent: AWS answers TaskTimedOut for a task that is over.
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token, output="{}")
    assert error_code(exc) == "TaskTimedOut"


def test_send_task_failure_fails_the_task_with_its_error_and_cause(server_factory: Any) -> None:
    outbox = Outbox()
    _, sfn = server_factory(tasks={SEND: outbox})
    execution = start(sfn, callback_machine(), "CallbackFail")
    (token,) = outbox.wait(1)
    sfn.send_task_failure(taskToken=token, error="Rejected", cause="not today")
    described = wait_done(sfn, execution)
    assert described["status"] == "SUCCEEDED"  # caught
    assert json.loads(described["output"])["error"] == {"Error": "Rejected", "Cause": "not today"}


def test_a_task_with_no_handler_still_waits_for_its_token(server_factory: Any) -> None:
    _, sfn = server_factory()
    execution = start(sfn, callback_machine(), "NoHandler")
    deadline = time.monotonic() + 10
    while True:  # the token is in the history's TaskScheduled parameters
        events = sfn.get_execution_history(executionArn=execution)["events"]
        scheduled = [e for e in events if e["type"] == "TaskScheduled"]
        if scheduled:
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    parameters = json.loads(scheduled[0]["taskScheduledEventDetails"]["parameters"])
    sfn.send_task_success(taskToken=parameters["MessageBody"]["token"], output='"done"')
    assert wait_done(sfn, execution)["status"] == "SUCCEEDED"


def test_bad_tokens_and_bad_output(server_factory: Any) -> None:
    outbox = Outbox()
    _, sfn = server_factory(tasks={SEND: outbox})
    execution = start(sfn, callback_machine(), "BadTokens")
    (token,) = outbox.wait(1)
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token, output="{not json")
    assert error_code(exc) == "InvalidOutput"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken="not a token", output="{}")
    assert error_code(exc) == "InvalidToken"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_heartbeat(taskToken="A" * 64)
    assert error_code(exc) == "TaskDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_failure(taskToken=token, error="E" * 300)
    assert error_code(exc) == "ValidationException"
    # None of that touched the waiting task.
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output="{}")
    assert wait_done(sfn, execution)["status"] == "SUCCEEDED"


def test_a_task_whose_token_does_not_come_back_times_out(server_factory: Any) -> None:
    outbox = Outbox()
    _, sfn = server_factory(tasks={SEND: outbox})
    execution = start(sfn, callback_machine(timeout=60, heartbeat=1), "Heartbeat")
    (token,) = outbox.wait(1)
    described = wait_done(sfn, execution)
    assert json.loads(described["output"])["error"]["Error"] == "States.HeartbeatTimeout"
    # The history records a timeout, not a failure (SendTaskHeartbeat's API reference).
    events = sfn.get_execution_history(executionArn=execution)["events"]
    timed_out = [e for e in events if e["type"] == "TaskTimedOut"]
    assert [e["taskTimedOutEventDetails"]["error"] for e in timed_out] == ["States.HeartbeatTimeout"]
    assert not [e for e in events if e["type"] == "TaskFailed"]
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token, output="{}")
    assert error_code(exc) == "TaskTimedOut"
