"""Every error name the service answers with, through boto3 (and raw HTTP where boto3 cannot send the
request)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from svc_support import BLOCK, PASS, ROLE, Blocker, create, task_definition

from expressway.service import ServiceOptions

MACHINE_PREFIX = "arn:aws:states:us-east-1:123456789012:stateMachine:"


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    error = exc.value.response["Error"]
    assert 400 <= exc.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    return error["Code"], error["Message"]


# ---------------------------------------------------------------------------------- InvalidArn


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:F",
        "arn:aws:states:us-east-1:123456789012:execution:M:e",  # an execution, not a state machine
        "arn:aws:states:us-east-1:123456789012:stateMachine:",
    ],
)
def test_invalid_state_machine_arn(sfn: Any, arn: str) -> None:
    for call in (
        lambda: sfn.describe_state_machine(stateMachineArn=arn),
        lambda: sfn.start_execution(stateMachineArn=arn),
        lambda: sfn.start_sync_execution(stateMachineArn=arn),
        lambda: sfn.delete_state_machine(stateMachineArn=arn),
        lambda: sfn.list_executions(stateMachineArn=arn),
        lambda: sfn.update_state_machine(stateMachineArn=arn, definition=PASS),
    ):
        code, message = error_of(call)
        assert code == "InvalidArn"
        assert message


@pytest.mark.parametrize(
    "arn",
    [
        "nope",
        "arn:aws:states:us-east-1:123456789012:stateMachine:M",
        "arn:aws:states:us-east-1:1:execution:M:e",
    ],
)
def test_invalid_execution_arn(sfn: Any, arn: str) -> None:
    for call in (
        lambda: sfn.describe_execution(executionArn=arn),
        lambda: sfn.stop_execution(executionArn=arn),
        lambda: sfn.get_execution_history(executionArn=arn),
        lambda: sfn.describe_state_machine_for_execution(executionArn=arn),
    ):
        assert error_of(call)[0] == "InvalidArn"


def test_invalid_role_arn(sfn: Any) -> None:
    code, message = error_of(lambda: sfn.create_state_machine(name="R", definition=PASS, roleArn="role"))
    assert code == "InvalidArn"
    assert "role" in message


# ---------------------------------------------------------------------------------- names and input


@pytest.mark.parametrize("name", ["has space", "a/b", "star*", "tab\there", "{brace}", "semi;colon"])
def test_invalid_name(sfn: Any, name: str) -> None:
    code, message = error_of(lambda: sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE))
    assert code == "InvalidName"
    assert name in message
    arn = create(sfn, "Ok")
    code, message = error_of(lambda: sfn.start_execution(stateMachineArn=arn, name=name))
    assert code == "InvalidName"
    code, _ = error_of(lambda: sfn.start_sync_execution(stateMachineArn=arn, name=name))
    assert code == "InvalidName"


def test_name_longer_than_80_is_validation_exception(sfn: Any) -> None:
    long_name = "n" * 81
    code, message = error_of(lambda: sfn.create_state_machine(name=long_name, definition=PASS, roleArn=ROLE))
    assert code == "ValidationException"
    assert "'name'" in message and "80" in message
    sfn.create_state_machine(name="n" * 80, definition=PASS, roleArn=ROLE)
    arn = create(sfn, "Ok")
    code, message = error_of(lambda: sfn.start_execution(stateMachineArn=arn, name=long_name))
    assert code == "ValidationException"
    assert "'name'" in message


@pytest.mark.parametrize("text", ["{not json", "", "[1,", '{"a": 1} trailing', "nan"])
def test_invalid_execution_input(sfn: Any, text: str) -> None:
    arn = create(sfn, "In")
    std = create(sfn, "InStd", type="STANDARD")
    for call in (
        lambda: sfn.start_sync_execution(stateMachineArn=arn, input=text),
        lambda: sfn.start_execution(stateMachineArn=arn, input=text),
        lambda: sfn.start_execution(stateMachineArn=std, input=text),
    ):
        code, message = error_of(call)
        assert code == "InvalidExecutionInput", (text, message)
        assert message
    assert sfn.list_executions(stateMachineArn=std)["executions"] == []


def test_input_over_256_kib_is_validation_exception(sfn: Any) -> None:
    arn = create(sfn, "Big")
    too_big = json.dumps("x" * 262_144)  # 262,146 bytes with the quotes
    code, message = error_of(lambda: sfn.start_sync_execution(stateMachineArn=arn, input=too_big))
    assert code == "ValidationException"
    assert "input" in message
    code, _ = error_of(lambda: sfn.start_execution(stateMachineArn=arn, input=too_big))
    assert code == "ValidationException"
    # Exactly 262,144 bytes is allowed; the limit counts UTF-8 bytes, not characters.
    fits = json.dumps("x" * 262_142)
    assert sfn.start_sync_execution(stateMachineArn=arn, input=fits)["status"] == "SUCCEEDED"
    multibyte = json.dumps("é" * 131_072, ensure_ascii=False)  # 131,074 characters, 262,146 bytes
    assert error_of(lambda: sfn.start_sync_execution(stateMachineArn=arn, input=multibyte))[0] == (
        "ValidationException"
    )


def test_output_over_256_kib_fails_the_execution(server_factory: Any) -> None:
    big = "arn:aws:lambda:us-east-1:123456789012:function:Big"
    _, sfn = server_factory(tasks={big: lambda event: "y" * 300_000})
    arn = create(sfn, "BigOut", task_definition(big))
    result = sfn.start_sync_execution(stateMachineArn=arn)
    assert result["status"] == "FAILED"
    assert result["error"] == "States.DataLimitExceeded"


@pytest.mark.parametrize("bad", [1001, 0])
def test_max_results_out_of_range(sfn: Any, bad: int) -> None:
    arn = create(sfn, "Pages")
    if bad == 0:  # 0 means "the default" on AWS
        assert sfn.list_state_machines(maxResults=0)["stateMachines"]
        return
    for call in (
        lambda: sfn.list_state_machines(maxResults=bad),
        lambda: sfn.list_executions(stateMachineArn=arn, maxResults=bad),
    ):
        code, message = error_of(call)
        assert code == "ValidationException"
        assert "maxResults" in message and "1000" in message


def test_validation_exception_counts_problems(sfn: Any) -> None:
    code, message = error_of(
        lambda: sfn.create_state_machine(name="n" * 81, definition=PASS, roleArn="r" * 300)
    )
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected")


def test_invalid_token(sfn: Any) -> None:
    arn = create(sfn, "Tok", type="STANDARD")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    for call in (
        lambda: sfn.list_state_machines(nextToken="garbage"),
        lambda: sfn.list_executions(stateMachineArn=arn, nextToken="garbage"),
        lambda: sfn.get_execution_history(executionArn=execution, nextToken="garbage"),
        lambda: sfn.list_state_machines(nextToken="b2Zmc2V0Ojk5OQ=="),  # "offset:999", past the end
    ):
        code, message = error_of(call)
        assert code == "InvalidToken"
        assert message


# ---------------------------------------------------------------------------------- does not exist


def test_state_machine_does_not_exist(sfn: Any) -> None:
    ghost = MACHINE_PREFIX + "Ghost"
    for call in (
        lambda: sfn.describe_state_machine(stateMachineArn=ghost),
        lambda: sfn.start_execution(stateMachineArn=ghost),
        lambda: sfn.start_sync_execution(stateMachineArn=ghost),
        lambda: sfn.update_state_machine(stateMachineArn=ghost, definition=PASS),
        lambda: sfn.list_executions(stateMachineArn=ghost),
    ):
        code, message = error_of(call)
        assert code == "StateMachineDoesNotExist"
        assert ghost in message


def test_execution_does_not_exist(sfn: Any) -> None:
    for arn in (
        "arn:aws:states:us-east-1:123456789012:execution:M:e",
        "arn:aws:states:us-east-1:123456789012:express:M:e:0b0c7b6e-0d4b-4a8c-9d7e-4c1d8e5c2f10",
    ):
        for call in (
            lambda arn=arn: sfn.describe_execution(executionArn=arn),
            lambda arn=arn: sfn.stop_execution(executionArn=arn),
            lambda arn=arn: sfn.get_execution_history(executionArn=arn),
            lambda arn=arn: sfn.describe_state_machine_for_execution(executionArn=arn),
        ):
            code, message = error_of(call)
            assert code == "ExecutionDoesNotExist"
            assert arn in message


# ---------------------------------------------------------------------------------- deleting


def test_state_machine_deleting(server_factory: Any) -> None:
    blocker = Blocker()
    _, sfn = server_factory(tasks={BLOCK: blocker})
    arn = create(sfn, "Doomed", task_definition(BLOCK), type="STANDARD")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert blocker.entered.wait(5)
    sfn.delete_state_machine(stateMachineArn=arn)
    assert sfn.describe_state_machine(stateMachineArn=arn)["status"] == "DELETING"
    for call in (
        lambda: sfn.start_execution(stateMachineArn=arn),
        lambda: sfn.create_state_machine(
            name="Doomed", definition=task_definition(BLOCK), roleArn=ROLE, type="STANDARD"
        ),
        lambda: sfn.update_state_machine(stateMachineArn=arn, definition=PASS),
    ):
        code, message = error_of(call)
        assert code == "StateMachineDeleting"
        assert arn in message
    sfn.stop_execution(executionArn=execution)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            sfn.describe_state_machine(stateMachineArn=arn)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "StateMachineDoesNotExist"
            break
        time.sleep(0.01)
    else:
        pytest.fail("the deleted state machine did not go once its execution ended")
    create(sfn, "Doomed", PASS, type="STANDARD")


def test_sync_start_on_deleting_express_machine(server_factory: Any) -> None:
    blocker = Blocker()
    _, sfn = server_factory(tasks={BLOCK: blocker})
    arn = create(sfn, "DoomedExpress", task_definition(BLOCK))
    sfn.start_execution(stateMachineArn=arn)
    assert blocker.entered.wait(5)
    sfn.delete_state_machine(stateMachineArn=arn)
    assert error_of(lambda: sfn.start_sync_execution(stateMachineArn=arn))[0] == "StateMachineDeleting"


# ---------------------------------------------------------------------------------- limits


def test_execution_limit_exceeded(server_factory: Any) -> None:
    blocker = Blocker()
    _, sfn = server_factory(tasks={BLOCK: blocker}, options=ServiceOptions(max_open=1))
    arn = create(sfn, "Limited", task_definition(BLOCK), type="STANDARD")
    first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert blocker.entered.wait(5)
    code, message = error_of(lambda: sfn.start_execution(stateMachineArn=arn))
    assert code == "ExecutionLimitExceeded"
    assert message
    sfn.stop_execution(executionArn=first)
    sfn.start_execution(stateMachineArn=arn)  # room again


def test_throttling_exception(server_factory: Any) -> None:
    blocker = Blocker()
    _, sfn = server_factory(tasks={BLOCK: blocker}, options=ServiceOptions(max_inflight=1))
    arn = create(sfn, "Throttled", task_definition(BLOCK))
    first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert blocker.entered.wait(5)
    for call in (
        lambda: sfn.start_execution(stateMachineArn=arn),
        lambda: sfn.start_sync_execution(stateMachineArn=arn),
    ):
        code, message = error_of(call)
        assert code == "ThrottlingException"
        assert message
    sfn.stop_execution(executionArn=first)
    quick = create(sfn, "Quick")
    assert sfn.start_sync_execution(stateMachineArn=quick)["status"] == "SUCCEEDED"


# ---------------------------------------------------------------------------------- strict mode


def test_aws_strict_refuses_express_executions(server_factory: Any) -> None:
    _, sfn = server_factory(options=ServiceOptions(aws_strict=True))
    arn = create(sfn, "Strict")
    execution = sfn.start_sync_execution(stateMachineArn=arn)["executionArn"]
    for call in (
        lambda: sfn.describe_execution(executionArn=execution),
        lambda: sfn.get_execution_history(executionArn=execution),
        lambda: sfn.stop_execution(executionArn=execution),
    ):
        assert error_of(call)[0] == "InvalidArn"
    assert error_of(lambda: sfn.list_executions(stateMachineArn=arn))[0] == "StateMachineTypeNotSupported"
    # STANDARD machines are not affected.
    std = create(sfn, "StrictStd", type="STANDARD")
    started = sfn.start_execution(stateMachineArn=std)["executionArn"]
    assert sfn.describe_execution(executionArn=started)["executionArn"] == started
    assert sfn.list_executions(stateMachineArn=std)["executions"]


# ---------------------------------------------------------------------------------- unknown action


def test_unknown_action(server: Any) -> None:
    status, body, _ = server.raw(b"{}", target="AWSStepFunctions.LaunchRockets")
    assert 400 <= status < 500
    assert body is not None and body["__type"] == "UnknownOperationException"
    assert "LaunchRockets" in body["message"]


def test_forged_negative_token_is_invalid(sfn: Any) -> None:
    import base64

    for i in range(3):
        create(sfn, f"Neg{i}")
    token = base64.urlsafe_b64encode(b"offset:-1").decode()
    assert error_of(lambda: sfn.list_state_machines(nextToken=token))[0] == "InvalidToken"
