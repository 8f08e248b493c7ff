"""Behaviour across actions: stopping a synchronous execution, retention of finished executions,
concurrency, the Express time limit, tag limits."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from svc_support import BLOCK, PASS, Blocker, create, make_client, task_definition

from expressway.service import ServiceOptions

SLOW = "arn:aws:lambda:us-east-1:123456789012:function:Slow"


async def slow(event: Any) -> Any:
    await asyncio.sleep(0.05)
    return event


def test_stop_a_synchronous_execution(server_factory: Any) -> None:
    blocker = Blocker()
    server, sfn = server_factory(tasks={BLOCK: blocker})
    arn = create(sfn, "SyncStop", task_definition(BLOCK))
    results: list[Any] = []
    caller = threading.Thread(
        target=lambda: results.append(make_client(server.port).start_sync_execution(stateMachineArn=arn))
    )
    caller.start()
    assert blocker.entered.wait(5)
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert len(running) == 1
    sfn.stop_execution(executionArn=running[0]["executionArn"], error="Stop", cause="by test")
    caller.join(10)
    assert not caller.is_alive()
    result = results[0]
    assert result["status"] == "ABORTED"
    assert result["error"] == "Stop"
    assert result["cause"] == "by test"
    assert result["executionArn"] == running[0]["executionArn"]


def test_finished_executions_are_bounded(server_factory: Any) -> None:
    _, sfn = server_factory(options=ServiceOptions(keep_finished=2))
    arn = create(sfn, "Kept", type="EXPRESS")
    arns = [sfn.start_sync_execution(stateMachineArn=arn)["executionArn"] for _ in range(3)]
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=arns[0])
    assert exc.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
    for kept in arns[1:]:
        assert sfn.describe_execution(executionArn=kept)["status"] == "SUCCEEDED"
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 2


def test_concurrent_synchronous_executions(server_factory: Any) -> None:
    server, sfn = server_factory(tasks={SLOW: slow})
    arn = create(sfn, "Concurrent", task_definition(SLOW))
    clients = [make_client(server.port) for _ in range(8)]

    def run(i: int) -> Any:
        return clients[i % len(clients)].start_sync_execution(stateMachineArn=arn, input=json.dumps({"i": i}))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(40)))
    assert [json.loads(r["output"]) for r in results] == [{"i": i} for i in range(40)]
    assert len({r["executionArn"] for r in results}) == 40
    assert server.call(lambda: (server.service.inflight, server.service.open)) == (0, 0)


def test_concurrent_asynchronous_executions(server_factory: Any) -> None:
    server, sfn = server_factory(tasks={SLOW: slow})
    arn = create(sfn, "ConcurrentStd", task_definition(SLOW), type="STANDARD")
    started = [
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"i": i}))["executionArn"]
        for i in range(30)
    ]
    for _ in range(500):
        statuses = {
            e["status"] for e in sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
        }
        if statuses == {"SUCCEEDED"}:
            break
        threading.Event().wait(0.02)
    assert statuses == {"SUCCEEDED"}
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == len(started)
    assert server.call(lambda: (server.service.inflight, server.service.open)) == (0, 0)


def test_express_time_limit(server_factory: Any) -> None:
    _, sfn = server_factory(options=ServiceOptions(express_max_duration=0.2))
    definition = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}})
    arn = create(sfn, "TooLong", definition)
    result = sfn.start_sync_execution(stateMachineArn=arn)
    assert result["status"] == "TIMED_OUT"
    assert "output" not in result


@pytest.mark.parametrize(
    "tag",
    [{"key": "k" * 129, "value": "v"}, {"key": "k", "value": "v" * 257}],
    ids=["long-key", "long-value"],
)
def test_tag_limits(sfn: Any, tag: dict[str, str]) -> None:
    arn = create(sfn, "Tagged")
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(resourceArn=arn, tags=[tag])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_stop_with_error_too_long(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.stop_execution(
            executionArn="arn:aws:states:us-east-1:123456789012:execution:M:e", error="e" * 257
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "error" in exc.value.response["Error"]["Message"]


def test_validate_max_results_bound(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.validate_state_machine_definition(definition=PASS, maxResults=101)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_empty_tag_key(server: Any) -> None:
    """botocore refuses an empty key before sending it; over raw HTTP the service does too."""
    sfn = make_client(server.port)
    arn = create(sfn, "EmptyKey")
    body = json.dumps({"resourceArn": arn, "tags": [{"key": "", "value": "v"}]}).encode()
    status, parsed, _ = server.raw(body, target="AWSStepFunctions.TagResource")
    assert status == 400
    assert parsed is not None and parsed["__type"] == "ValidationException"
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []
