"""Execution actions end to end with boto3: StartSyncExecution, StartExecution, StopExecution,
DescribeExecution, DescribeStateMachineForExecution, ListExecutions, GetExecutionHistory."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from svc_support import BLOCK, FAIL, PASS, PASS_SUCCEED, ROLE, Blocker, create, task_definition

from expressway.service import ServiceOptions

ECHO_ARN = "arn:aws:lambda:us-east-1:123456789012:function:Echo"
MISSING_ARN = "arn:aws:lambda:us-east-1:123456789012:function:Missing"
EXPRESS_ARN = re.compile(
    r"^arn:aws:states:us-east-1:123456789012:express:(?P<machine>[^:]+):(?P<name>[^:]+):"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def echo(event: Any) -> Any:
    return {"echo": event}


@pytest.fixture
def blocker() -> Blocker:
    return Blocker()


@pytest.fixture
def env(server_factory: Any, blocker: Blocker) -> Any:
    """A server with the Echo and Block handlers."""
    server, sfn = server_factory(tasks={ECHO_ARN: echo, BLOCK: blocker})
    return server, sfn


def wait_for_status(sfn: Any, arn: str, status: str = "SUCCEEDED", timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] == status or time.monotonic() > deadline:
            return described
        time.sleep(0.01)


# ---------------------------------------------------------------------------------- StartSyncExecution


def test_start_sync_execution_response(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Sync", PASS_SUCCEED)
    result = sfn.start_sync_execution(
        stateMachineArn=arn, name="run-1", input='{"a": 1}', traceHeader="Root=1"
    )
    match = EXPRESS_ARN.match(result["executionArn"])
    assert match and match["machine"] == "Sync" and match["name"] == "run-1"
    assert result["stateMachineArn"] == arn
    assert result["name"] == "run-1"
    assert result["status"] == "SUCCEEDED"
    assert isinstance(result["startDate"], dt.datetime)
    assert isinstance(result["stopDate"], dt.datetime)
    assert result["stopDate"] >= result["startDate"]
    assert result["input"] == '{"a": 1}'
    assert result["inputDetails"] == {"included": True}
    assert json.loads(result["output"]) == {"a": 1}
    assert result["outputDetails"] == {"included": True}
    assert result["traceHeader"] == "Root=1"
    billing = result["billingDetails"]
    assert billing["billedMemoryUsedInMB"] > 0
    assert billing["billedDurationInMilliseconds"] >= 100
    assert billing["billedDurationInMilliseconds"] % 100 == 0
    assert "error" not in result and "cause" not in result


def test_start_sync_execution_generates_a_name(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Named")
    first = sfn.start_sync_execution(stateMachineArn=arn)
    second = sfn.start_sync_execution(stateMachineArn=arn)
    assert first["name"] and first["name"] != second["name"]
    assert first["executionArn"] != second["executionArn"]
    assert first["input"] == "{}"
    assert json.loads(first["output"]) == {}


def test_start_sync_execution_failed(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Fails", FAIL)
    result = sfn.start_sync_execution(stateMachineArn=arn)
    assert result["status"] == "FAILED"
    assert result["error"] == "Boom"
    assert result["cause"] == "it broke"
    assert "output" not in result
    assert result["billingDetails"]["billedDurationInMilliseconds"] >= 100


def test_start_sync_execution_with_python_handler(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Echo", task_definition(ECHO_ARN))
    result = sfn.start_sync_execution(stateMachineArn=arn, input='{"x": [1, 2]}')
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"echo": {"x": [1, 2]}}


def test_start_sync_execution_lambda_without_handler(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "NoHandler", task_definition(MISSING_ARN))
    result = sfn.start_sync_execution(stateMachineArn=arn)
    assert result["status"] == "FAILED"
    assert result["error"] == "Lambda.ResourceNotFoundException"
    assert "Missing" in result["cause"]


def test_start_sync_execution_on_standard_is_not_supported(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Std", type="STANDARD")
    with pytest.raises(ClientError) as exc:
        sfn.start_sync_execution(stateMachineArn=arn)
    assert error_code(exc) == "StateMachineTypeNotSupported"


def test_start_sync_execution_invalid_input(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "BadInput")
    with pytest.raises(ClientError) as exc:
        sfn.start_sync_execution(stateMachineArn=arn, input="{not json")
    assert error_code(exc) == "InvalidExecutionInput"


# ---------------------------------------------------------------------------------- StartExecution


def test_start_execution_express(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Async", task_definition(ECHO_ARN))
    started = sfn.start_execution(stateMachineArn=arn, name="job-7", input='{"n": 7}')
    assert set(started) - {"ResponseMetadata"} == {"executionArn", "startDate"}
    match = EXPRESS_ARN.match(started["executionArn"])
    assert match and match["machine"] == "Async" and match["name"] == "job-7"
    described = wait_for_status(sfn, started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert described["executionArn"] == started["executionArn"]
    assert described["stateMachineArn"] == arn
    assert described["name"] == "job-7"
    assert described["startDate"] == started["startDate"]
    assert described["stopDate"] >= described["startDate"]
    assert described["input"] == '{"n": 7}'
    assert json.loads(described["output"]) == {"echo": {"n": 7}}
    assert described["inputDetails"] == {"included": True}
    assert described["outputDetails"] == {"included": True}


def test_start_execution_is_asynchronous(env: Any, blocker: Blocker) -> None:
    _, sfn = env
    arn = create(sfn, "Blocked", task_definition(BLOCK))
    started = sfn.start_execution(stateMachineArn=arn)  # returns while the task blocks
    assert blocker.entered.wait(5)
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"


def test_start_execution_standard_arn_and_name_reuse(env: Any, blocker: Blocker) -> None:
    _, sfn = env
    arn = create(sfn, "Std", PASS, type="STANDARD")
    started = sfn.start_execution(stateMachineArn=arn, name="once")
    assert started["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:Std:once"
    wait_for_status(sfn, started["executionArn"])
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="once")
    assert error_code(exc) == "ExecutionAlreadyExists"
    assert started["executionArn"] in exc.value.response["Error"]["Message"]


def test_start_execution_standard_same_input_while_running_is_idempotent(env: Any, blocker: Blocker) -> None:
    _, sfn = env
    arn = create(sfn, "StdBlocked", task_definition(BLOCK), type="STANDARD")
    first = sfn.start_execution(stateMachineArn=arn, name="same", input='{"k": 1}')
    assert blocker.entered.wait(5)
    again = sfn.start_execution(stateMachineArn=arn, name="same", input='{"k": 1}')
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    assert blocker.calls == 1
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="same", input='{"k": 2}')
    assert error_code(exc) == "ExecutionAlreadyExists"


def test_start_execution_standard_same_name_default_input(env: Any, blocker: Blocker) -> None:
    _, sfn = env
    arn = create(sfn, "StdDefault", task_definition(BLOCK), type="STANDARD")
    first = sfn.start_execution(stateMachineArn=arn, name="n")
    assert blocker.entered.wait(5)
    assert sfn.start_execution(stateMachineArn=arn, name="n")["executionArn"] == first["executionArn"]


def test_start_execution_express_names_may_repeat(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Repeat")
    first = sfn.start_execution(stateMachineArn=arn, name="dup")["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn, name="dup")["executionArn"]
    assert first != second


# ---------------------------------------------------------------------------------- StopExecution


@pytest.mark.parametrize("machine_type", ["EXPRESS", "STANDARD"])
def test_stop_execution(env: Any, blocker: Blocker, machine_type: str) -> None:
    _, sfn = env
    arn = create(sfn, "Stoppable", task_definition(BLOCK), type=machine_type)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert blocker.entered.wait(5)
    stopped = sfn.stop_execution(executionArn=execution, error="Halt", cause="stopped by the test")
    assert isinstance(stopped["stopDate"], dt.datetime)
    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "ABORTED"
    assert described["error"] == "Halt"
    assert described["cause"] == "stopped by the test"
    assert described["stopDate"] == stopped["stopDate"]
    assert "output" not in described
    # Stopping again is harmless.
    sfn.stop_execution(executionArn=execution)
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"


def test_stop_unknown_execution(env: Any) -> None:
    _, sfn = env
    with pytest.raises(ClientError) as exc:
        sfn.stop_execution(executionArn="arn:aws:states:us-east-1:123456789012:execution:Nope:nope")
    assert error_code(exc) == "ExecutionDoesNotExist"


# ---------------------------------------------------------------------------------- Describe*


def test_describe_failed_execution(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "FailStd", FAIL, type="STANDARD")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    described = wait_for_status(sfn, execution, "FAILED")
    assert described["status"] == "FAILED"
    assert described["error"] == "Boom"
    assert described["cause"] == "it broke"
    assert "output" not in described


def test_describe_state_machine_for_execution(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Versioned", PASS, type="STANDARD")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    wait_for_status(sfn, execution)
    sfn.update_state_machine(stateMachineArn=arn, definition=PASS_SUCCEED)
    described = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert described["stateMachineArn"] == arn
    assert described["name"] == "Versioned"
    assert described["definition"] == PASS  # as it was when the execution started
    assert described["roleArn"] == ROLE
    assert isinstance(described["updateDate"], dt.datetime)
    later = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert sfn.describe_state_machine_for_execution(executionArn=later)["definition"] == PASS_SUCCEED


def test_describe_state_machine_for_express_execution(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "ExpressDescribe")
    execution = sfn.start_sync_execution(stateMachineArn=arn)["executionArn"]
    assert sfn.describe_state_machine_for_execution(executionArn=execution)["stateMachineArn"] == arn


# ---------------------------------------------------------------------------------- ListExecutions


def test_list_executions_filter_and_pagination(env: Any, blocker: Blocker) -> None:
    _, sfn = env
    ok = create(sfn, "ListOk", PASS, type="STANDARD")
    done = [sfn.start_execution(stateMachineArn=ok, name=f"ok{i}")["executionArn"] for i in range(5)]
    for execution in done:
        wait_for_status(sfn, execution)
    failing = create(sfn, "ListFail", FAIL, type="STANDARD")
    failed = sfn.start_execution(stateMachineArn=failing)["executionArn"]
    wait_for_status(sfn, failed, "FAILED")

    listed = sfn.list_executions(stateMachineArn=ok)["executions"]
    assert {e["executionArn"] for e in listed} == set(done)
    for item in listed:
        assert item["stateMachineArn"] == ok
        assert item["status"] == "SUCCEEDED"
        assert set(item) >= {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate"}
    starts = [e["startDate"] for e in listed]
    assert starts == sorted(starts, reverse=True)  # newest first

    assert sfn.list_executions(stateMachineArn=ok, statusFilter="FAILED")["executions"] == []
    assert len(sfn.list_executions(stateMachineArn=ok, statusFilter="SUCCEEDED")["executions"]) == 5
    only_failed = sfn.list_executions(stateMachineArn=failing, statusFilter="FAILED")["executions"]
    assert [e["executionArn"] for e in only_failed] == [failed]

    page = sfn.list_executions(stateMachineArn=ok, maxResults=2)
    seen = list(page["executions"])
    assert len(seen) == 2 and page["nextToken"]
    while "nextToken" in page:
        page = sfn.list_executions(stateMachineArn=ok, maxResults=2, nextToken=page["nextToken"])
        seen += page["executions"]
    assert [e["executionArn"] for e in seen] == [e["executionArn"] for e in listed]


def test_pages_neither_repeat_nor_skip_when_executions_start_meanwhile(env: Any) -> None:
    # A token names the last item its page gave, not an offset: a new execution at the head of the
    # newest-first list does not push an item already seen onto the next page.
    _, sfn = env
    arn = create(sfn, "PagesMove", PASS, type="STANDARD")
    first = [sfn.start_execution(stateMachineArn=arn, name=f"a{i}")["executionArn"] for i in range(4)]
    for execution in first:
        wait_for_status(sfn, execution)
    page = sfn.list_executions(stateMachineArn=arn, maxResults=2)
    seen = [e["executionArn"] for e in page["executions"]]
    wait_for_status(sfn, sfn.start_execution(stateMachineArn=arn, name="late")["executionArn"])
    while "nextToken" in page:
        page = sfn.list_executions(stateMachineArn=arn, maxResults=2, nextToken=page["nextToken"])
        seen += [e["executionArn"] for e in page["executions"]]
    assert sorted(seen) == sorted(first)  # each once; the late one starts a new listing's first page
    # A token belongs to its listing: another machine's, or another operation, refuses it.
    other = create(sfn, "PagesOther", PASS, type="STANDARD")
    token = sfn.list_executions(stateMachineArn=arn, maxResults=1)["nextToken"]
    for call in (
        lambda: sfn.list_executions(stateMachineArn=other, nextToken=token),
        lambda: sfn.list_state_machines(nextToken=token),
        lambda: sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED", nextToken=token),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "InvalidToken"


def test_list_executions_running(env: Any, blocker: Blocker) -> None:
    _, sfn = env
    arn = create(sfn, "Running", task_definition(BLOCK), type="STANDARD")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert blocker.entered.wait(5)
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert [e["executionArn"] for e in running] == [execution]
    assert "stopDate" not in running[0]


def test_list_executions_of_express_machine(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "ExpressList")
    execution = sfn.start_sync_execution(stateMachineArn=arn)["executionArn"]
    assert [e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == [execution]


def test_list_executions_unknown_machine(env: Any) -> None:
    _, sfn = env
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:Ghost")
    assert error_code(exc) == "StateMachineDoesNotExist"


# ---------------------------------------------------------------------------------- GetExecutionHistory


def test_history_of_express_execution_without_logging(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "Hist", PASS_SUCCEED)
    execution = sfn.start_sync_execution(stateMachineArn=arn, input='{"v": 1}')["executionArn"]
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == ["ExecutionStarted", "ExecutionSucceeded"]
    assert [e["id"] for e in events] == [1, 2]
    assert events[0]["previousEventId"] == 0 and events[1]["previousEventId"] == 1
    assert isinstance(events[0]["timestamp"], dt.datetime)
    assert events[0]["executionStartedEventDetails"]["input"] == '{"v": 1}'
    assert events[0]["executionStartedEventDetails"]["roleArn"] == ROLE
    assert json.loads(events[1]["executionSucceededEventDetails"]["output"]) == {"v": 1}

    reverse = sfn.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    assert [e["type"] for e in reverse] == ["ExecutionSucceeded", "ExecutionStarted"]

    first = sfn.get_execution_history(executionArn=execution, maxResults=1)
    assert [e["type"] for e in first["events"]] == ["ExecutionStarted"]
    second = sfn.get_execution_history(executionArn=execution, maxResults=1, nextToken=first["nextToken"])
    assert [e["type"] for e in second["events"]] == ["ExecutionSucceeded"]
    assert "nextToken" not in second

    bare = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[1]["executionSucceededEventDetails"]


def test_history_of_failed_express_execution(env: Any) -> None:
    _, sfn = env
    arn = create(sfn, "HistFail", FAIL)
    execution = sfn.start_sync_execution(stateMachineArn=arn)["executionArn"]
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == ["ExecutionStarted", "ExecutionFailed"]
    assert events[1]["executionFailedEventDetails"] == {"error": "Boom", "cause": "it broke"}


def test_history_of_standard_execution(env: Any) -> None:
    """Needs the core's step-by-step history (Execution.history_json)."""
    _, sfn = env
    arn = create(sfn, "HistStd", PASS_SUCCEED, type="STANDARD")
    execution = sfn.start_execution(stateMachineArn=arn, input='{"v": 2}')["executionArn"]
    wait_for_status(sfn, execution)
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, 7))
    assert events[1]["stateEnteredEventDetails"]["name"] == "P"
    assert json.loads(events[-1]["executionSucceededEventDetails"]["output"]) == {"v": 2}
    reverse = sfn.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    assert [e["id"] for e in reverse] == list(range(6, 0, -1))
    bare = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[-1]["executionSucceededEventDetails"]
    paged, page = [], sfn.get_execution_history(executionArn=execution, maxResults=4)
    paged += page["events"]
    page = sfn.get_execution_history(executionArn=execution, maxResults=4, nextToken=page["nextToken"])
    paged += page["events"]
    assert [e["id"] for e in paged] == list(range(1, 7))


def test_history_of_express_execution_with_logging(env: Any) -> None:
    _, sfn = env
    arn = create(
        sfn, "HistLog", PASS_SUCCEED, loggingConfiguration={"level": "ALL", "includeExecutionData": True}
    )
    execution = sfn.start_sync_execution(stateMachineArn=arn)["executionArn"]
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "PassStateEntered" in types


def test_history_of_unknown_execution(env: Any) -> None:
    _, sfn = env
    with pytest.raises(ClientError) as exc:
        sfn.get_execution_history(executionArn="arn:aws:states:us-east-1:123456789012:execution:X:y")
    assert error_code(exc) == "ExecutionDoesNotExist"


def test_options_are_importable() -> None:
    assert ServiceOptions().max_open > 0


def test_history_of_running_standard_execution(env: Any, blocker: Blocker) -> None:
    _, sfn = env
    arn = create(sfn, "HistRunning", task_definition(BLOCK), type="STANDARD")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert blocker.entered.wait(5)
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    assert types[0] == "ExecutionStarted"
    assert "TaskStateEntered" in types
    assert "ExecutionSucceeded" not in types
    sfn.stop_execution(executionArn=execution, error="E", cause="C")
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert events[-1]["type"] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "E", "cause": "C"}


def test_history_of_aborted_express_execution(env: Any, blocker: Blocker) -> None:
    _, sfn = env
    arn = create(sfn, "HistAbort", task_definition(BLOCK))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert blocker.entered.wait(5)
    assert [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]] == [
        "ExecutionStarted"
    ]
    sfn.stop_execution(executionArn=execution, error="E", cause="C")
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == ["ExecutionStarted", "ExecutionAborted"]
    assert events[-1]["executionAbortedEventDetails"] == {"error": "E", "cause": "C"}
