"""State machine actions end to end with boto3: create/describe/update/delete/list, validation,
tags."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from svc_support import FAIL, PASS, PASS_SUCCEED, ROLE, task_definition

ARN_PREFIX = "arn:aws:states:us-east-1:123456789012:stateMachine:"


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.mark.parametrize("machine_type", ["EXPRESS", "STANDARD"])
def test_create_and_describe(sfn: Any, machine_type: str) -> None:
    created = sfn.create_state_machine(name="Hello", definition=PASS, roleArn=ROLE, type=machine_type)
    assert created["stateMachineArn"] == ARN_PREFIX + "Hello"
    assert isinstance(created["creationDate"], dt.datetime)

    described = sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["stateMachineArn"] == created["stateMachineArn"]
    assert described["name"] == "Hello"
    assert described["status"] == "ACTIVE"
    assert described["definition"] == PASS
    assert described["roleArn"] == ROLE
    assert described["type"] == machine_type
    assert described["creationDate"] == created["creationDate"]
    assert described["loggingConfiguration"]["level"] == "OFF"
    assert described["tracingConfiguration"] == {"enabled": False}
    assert described["revisionId"]


def test_type_defaults_to_standard(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="Default", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["type"] == "STANDARD"


def test_create_is_idempotent_with_identical_arguments(sfn: Any) -> None:
    first = sfn.create_state_machine(name="Same", definition=PASS, roleArn=ROLE, type="EXPRESS")
    again = sfn.create_state_machine(name="Same", definition=PASS, roleArn=ROLE, type="EXPRESS")
    assert again["stateMachineArn"] == first["stateMachineArn"]
    assert again["creationDate"] == first["creationDate"]


def test_create_with_different_arguments_is_already_exists(sfn: Any) -> None:
    sfn.create_state_machine(name="Taken", definition=PASS, roleArn=ROLE, type="EXPRESS")
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="Taken", definition=PASS_SUCCEED, roleArn=ROLE, type="EXPRESS")
    assert error_code(exc) == "StateMachineAlreadyExists"
    assert ARN_PREFIX + "Taken" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="Taken", definition=PASS, roleArn=ROLE, type="STANDARD")
    assert error_code(exc) == "StateMachineAlreadyExists"


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:::ecs:runTask.sync",
    ],
)
def test_express_rejects_sync_and_callback_integrations(sfn: Any, resource: str) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(
            name="Ex", definition=task_definition(resource), roleArn=ROLE, type="EXPRESS"
        )
    assert error_code(exc) == "InvalidDefinition"
    assert "Express" in exc.value.response["Error"]["Message"]
    # STANDARD accepts them.
    sfn.create_state_machine(name="Std", definition=task_definition(resource), roleArn=ROLE, type="STANDARD")


def test_invalid_definition_names_the_problem(sfn: Any) -> None:
    bad = json.dumps({"StartAt": "Nowhere", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="Bad", definition=bad, roleArn=ROLE, type="EXPRESS")
    assert error_code(exc) == "InvalidDefinition"
    assert "Nowhere" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="Bad", definition="{not json", roleArn=ROLE, type="EXPRESS")
    assert error_code(exc) == "InvalidDefinition"


def test_update_state_machine(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(PASS)
    before = sfn.describe_state_machine(stateMachineArn=arn)
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=FAIL)
    assert isinstance(updated["updateDate"], dt.datetime)
    assert updated["revisionId"] and updated["revisionId"] != before["revisionId"]
    after = sfn.describe_state_machine(stateMachineArn=arn)
    assert after["definition"] == FAIL
    assert after["revisionId"] == updated["revisionId"]
    assert after["creationDate"] == before["creationDate"]
    result = sfn.start_sync_execution(stateMachineArn=arn)
    assert result["status"] == "FAILED"

    new_role = "arn:aws:iam::123456789012:role/other"
    sfn.update_state_machine(
        stateMachineArn=arn,
        roleArn=new_role,
        loggingConfiguration={"level": "ALL", "includeExecutionData": True},
    )
    after = sfn.describe_state_machine(stateMachineArn=arn)
    assert after["roleArn"] == new_role
    assert after["loggingConfiguration"]["level"] == "ALL"
    assert after["definition"] == FAIL


def test_update_with_nothing_is_missing_required_parameter(sfn: Any, make_machine: Any) -> None:
    arn = make_machine()
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=arn)
    assert error_code(exc) == "MissingRequiredParameter"


def test_update_with_invalid_definition(sfn: Any, make_machine: Any) -> None:
    arn = make_machine()
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=arn, definition='{"StartAt": "X", "States": {}}')
    assert error_code(exc) == "InvalidDefinition"
    assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == PASS


def test_update_express_to_sync_integration_is_invalid(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(type="EXPRESS")
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(
            stateMachineArn=arn, definition=task_definition("arn:aws:states:::lambda:invoke.waitForTaskToken")
        )
    assert error_code(exc) == "InvalidDefinition"


def test_update_unknown_machine(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=ARN_PREFIX + "Ghost", definition=PASS)
    assert error_code(exc) == "StateMachineDoesNotExist"


def test_delete_state_machine(sfn: Any, make_machine: Any) -> None:
    arn = make_machine()
    assert sfn.delete_state_machine(stateMachineArn=arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_code(exc) == "StateMachineDoesNotExist"
    assert arn in exc.value.response["Error"]["Message"]
    # Deleting what is not there succeeds, as on AWS.
    sfn.delete_state_machine(stateMachineArn=arn)
    # The name is free again.
    sfn.create_state_machine(name=arn.rsplit(":", 1)[1], definition=FAIL, roleArn=ROLE, type="STANDARD")


def test_list_state_machines_paginates(sfn: Any, make_machine: Any) -> None:
    assert sfn.list_state_machines()["stateMachines"] == []
    arns = {make_machine(name=f"list{i}", type="EXPRESS" if i % 2 else "STANDARD") for i in range(7)}
    first = sfn.list_state_machines(maxResults=3)
    assert len(first["stateMachines"]) == 3
    assert first["nextToken"]
    seen = list(first["stateMachines"])
    token = first["nextToken"]
    while token:
        page = sfn.list_state_machines(maxResults=3, nextToken=token)
        assert len(page["stateMachines"]) <= 3
        seen += page["stateMachines"]
        token = page.get("nextToken")
    assert {m["stateMachineArn"] for m in seen} == arns
    assert len(seen) == 7
    for item in seen:
        assert set(item) >= {"stateMachineArn", "name", "type", "creationDate"}
        assert item["stateMachineArn"] == ARN_PREFIX + item["name"]
    everything = sfn.list_state_machines()
    assert len(everything["stateMachines"]) == 7
    assert "nextToken" not in everything
    # The boto3 paginator drives nextToken itself.
    paginator = sfn.get_paginator("list_state_machines")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 4
    assert sum(len(p["stateMachines"]) for p in pages) == 7


def test_validate_ok(sfn: Any) -> None:
    result = sfn.validate_state_machine_definition(definition=PASS, type="EXPRESS")
    assert result["result"] == "OK"
    assert result["diagnostics"] == []
    assert result.get("truncated") is False


def test_validate_fail_gives_diagnostics(sfn: Any) -> None:
    bad = json.dumps({"StartAt": "Nowhere", "States": {"P": {"Type": "Pass", "End": True}}})
    result = sfn.validate_state_machine_definition(definition=bad)
    assert result["result"] == "FAIL"
    assert result["diagnostics"]
    for diagnostic in result["diagnostics"]:
        assert diagnostic["severity"] == "ERROR"
        assert diagnostic["code"]
        assert diagnostic["message"]
        assert diagnostic["location"]
    assert any(d["code"] == "MISSING_TRANSITION_TARGET" for d in result["diagnostics"])
    assert any(d["location"] == "/StartAt" for d in result["diagnostics"])


def test_validate_express_callback_integration_fails(sfn: Any) -> None:
    definition = task_definition("arn:aws:states:::lambda:invoke.waitForTaskToken")
    assert sfn.validate_state_machine_definition(definition=definition, type="EXPRESS")["result"] == "FAIL"
    assert sfn.validate_state_machine_definition(definition=definition, type="STANDARD")["result"] == "OK"


def test_validate_severity_warning_includes_warnings(sfn: Any) -> None:
    definition = json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"a": "$.x"}, "End": True}}}
    )
    errors_only = sfn.validate_state_machine_definition(definition=definition)
    assert errors_only["result"] == "OK"
    assert errors_only["diagnostics"] == []
    with_warnings = sfn.validate_state_machine_definition(definition=definition, severity="WARNING")
    assert with_warnings["result"] == "OK"
    assert with_warnings["diagnostics"]
    warning = with_warnings["diagnostics"][0]
    assert warning["severity"] == "WARNING"
    assert warning["code"]
    assert warning["location"] == "/States/P/Parameters/a"
    assert "'a'" in warning["message"]


def test_validate_max_results_truncates(sfn: Any) -> None:
    states = {f"S{i}": {"Type": "Pass", "End": True} for i in range(5)}
    states["P"] = {"Type": "Pass", "End": True}
    definition = json.dumps({"StartAt": "P", "States": states})  # five unreachable states
    result = sfn.validate_state_machine_definition(definition=definition, maxResults=2)
    assert result["result"] == "FAIL"
    assert len(result["diagnostics"]) == 2
    assert result["truncated"] is True


def test_tags(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(tags=[{"key": "team", "value": "core"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "core"}]
    sfn.tag_resource(
        resourceArn=arn, tags=[{"key": "env", "value": "test"}, {"key": "team", "value": "infra"}]
    )
    tags = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"team": "infra", "env": "test"}
    sfn.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "test"}]


def test_tags_of_unknown_resource(sfn: Any) -> None:
    ghost = ARN_PREFIX + "Ghost"
    for call in (
        lambda: sfn.list_tags_for_resource(resourceArn=ghost),
        lambda: sfn.tag_resource(resourceArn=ghost, tags=[{"key": "a", "value": "b"}]),
        lambda: sfn.untag_resource(resourceArn=ghost, tagKeys=["a"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ResourceNotFound"
        assert ghost in exc.value.response["Error"]["Message"]


def test_tags_with_invalid_arn(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.list_tags_for_resource(resourceArn="not-an-arn")
    assert error_code(exc) == "InvalidArn"


def test_too_many_tags(sfn: Any, make_machine: Any) -> None:
    arn = make_machine()
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    assert error_code(exc) == "TooManyTags"


def test_create_idempotency_ignores_role_and_tags(sfn: Any) -> None:
    """AWS: the check is on name, definition, type, logging and tracing; a different roleArn or tags is
    ignored and not applied."""
    first = sfn.create_state_machine(
        name="Idem", definition=PASS, roleArn=ROLE, type="EXPRESS", tags=[{"key": "a", "value": "1"}]
    )
    other_role = "arn:aws:iam::123456789012:role/other"
    again = sfn.create_state_machine(
        name="Idem", definition=PASS, roleArn=other_role, type="EXPRESS", tags=[{"key": "b", "value": "2"}]
    )
    assert again["stateMachineArn"] == first["stateMachineArn"]
    assert again["creationDate"] == first["creationDate"]
    assert sfn.describe_state_machine(stateMachineArn=first["stateMachineArn"])["roleArn"] == ROLE
    assert sfn.list_tags_for_resource(resourceArn=first["stateMachineArn"])["tags"] == [
        {"key": "a", "value": "1"}
    ]
    for different in (
        {"tracingConfiguration": {"enabled": True}},
        {"loggingConfiguration": {"level": "ERROR", "includeExecutionData": False}},
    ):
        with pytest.raises(ClientError) as exc:
            sfn.create_state_machine(name="Idem", definition=PASS, roleArn=ROLE, type="EXPRESS", **different)
        assert error_code(exc) == "StateMachineAlreadyExists"


def test_executions_run_as_the_machines_role(sfn: Any) -> None:
    definition = json.dumps(
        {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {"role.$": "$$.Execution.RoleArn"}, "End": True}},
        }
    )
    first = "arn:aws:iam::123456789012:role/first"
    arn = sfn.create_state_machine(name="Roles", definition=definition, roleArn=first, type="EXPRESS")[
        "stateMachineArn"
    ]
    assert json.loads(sfn.start_sync_execution(stateMachineArn=arn)["output"]) == {"role": first}
    second = "arn:aws:iam::123456789012:role/second"
    sfn.update_state_machine(stateMachineArn=arn, roleArn=second)
    assert json.loads(sfn.start_sync_execution(stateMachineArn=arn)["output"]) == {"role": second}
