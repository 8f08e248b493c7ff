"""Task handlers: lookup by resource or function name, sync and async, results and errors as AWS reports
them, lambda:invoke, missing handlers, timeouts, retries, cancellation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import expressway
from helpers import FakeClock, Forever, lambda_arn, task_machine

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


def run_task(resource: str, tasks: dict[str, Any], input: Any = None, **fields: Any) -> expressway.Result:
    return expressway.StateMachine(task_machine(resource, **fields)).run(input, tasks=tasks, time_scale=0)


# ---------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("resource", "key"),
    [
        (lambda_arn("double"), "double"),
        (lambda_arn("double"), lambda_arn("double")),
        (lambda_arn("double") + ":live", "double"),
        (lambda_arn("double") + ":live", "double:live"),
        ("arn:aws:states:::dynamodb:getItem", "arn:aws:states:::dynamodb:getItem"),
        ("arn:aws:states:::sqs:sendMessage", "arn:aws:states:::sqs:sendMessage"),
    ],
)
def test_handler_found_by_resource_or_function_name(resource: str, key: str) -> None:
    seen = []

    def double(event: dict[str, int]) -> dict[str, int]:
        seen.append(event)
        return {"n": event["n"] * 2}

    result = run_task(resource, {key: double}, {"n": 21})
    assert result.status == "SUCCEEDED", result
    assert result.output == {"n": 42}
    assert seen == [{"n": 21}]


def test_exact_resource_wins_over_function_name() -> None:
    tasks = {"f": lambda _e: "by name", lambda_arn("f"): lambda _e: "by arn"}
    assert run_task(lambda_arn("f"), tasks).output == "by arn"


def test_async_handler() -> None:
    async def handler(event: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {**event, "async": True}

    result = run_task(lambda_arn("a"), {"a": handler}, {"x": 1})
    assert result.output == {"x": 1, "async": True}


def test_handler_sees_the_effective_input() -> None:
    result = run_task(
        lambda_arn("f"),
        {"f": lambda event: {"got": event}},
        {"a": {"b": 1}, "c": 2},
        Parameters={"value.$": "$.a.b", "fixed": "x"},
        ResultPath="$.out",
    )
    assert result.output == {"a": {"b": 1}, "c": 2, "out": {"got": {"value": 1, "fixed": "x"}}}


# ---------------------------------------------------------------- errors


def test_task_failed_gives_exactly_its_error_and_cause() -> None:
    def handler(_event: Any) -> None:
        raise expressway.TaskFailed("Custom.Error", "it broke")

    result = run_task(lambda_arn("f"), {"f": handler})
    assert (result.status, result.error, result.cause) == ("FAILED", "Custom.Error", "it broke")


def test_task_failed_without_cause() -> None:
    async def handler(_event: Any) -> None:
        raise expressway.TaskFailed("NoCause")

    result = run_task(lambda_arn("f"), {"f": handler})
    assert (result.status, result.error, result.cause) == ("FAILED", "NoCause", None)


class OrderRejected(Exception):
    pass


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_exception_fails_the_task_like_the_lambda_python_runtime(is_async: bool) -> None:
    def reject(order: dict[str, Any]) -> None:
        raise OrderRejected(f"order {order['id']} rejected")

    async def reject_async(order: dict[str, Any]) -> None:
        reject(order)

    result = run_task(lambda_arn("f"), {"f": reject_async if is_async else reject}, {"id": 7})
    assert result.status == "FAILED"
    assert result.error == "OrderRejected"
    cause = json.loads(result.cause)
    assert cause["errorMessage"] == "order 7 rejected"
    assert cause["errorType"] == "OrderRejected"
    assert set(cause) <= {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert isinstance(cause["stackTrace"], list)
    assert any("in reject" in frame for frame in cause["stackTrace"])
    assert not any("expressway" in frame and "_driver" in frame for frame in cause["stackTrace"])


def test_error_document_is_written_as_the_lambda_runtime_writes_it() -> None:
    # The document is json.dumps(..., ensure_ascii=False) of the runtime's dict: the same text, to
    # the byte, whatever the message holds (quotes, backslashes, control characters, non-ASCII).
    message = 'tab\there "quoted" back\\slash \x01 \x1f é 😀 \u2028 line\nbreak'

    def reject(_event: Any) -> None:
        raise OrderRejected(message)

    result = run_task(lambda_arn("f"), {"f": reject}, {})
    assert result.error == "OrderRejected"
    document = json.loads(result.cause)
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorMessage"] == message
    assert result.cause == json.dumps(document, ensure_ascii=False)
    assert any("raise OrderRejected(message)" in frame for frame in document["stackTrace"])


def test_stack_traces_name_the_file_each_handler_is_in(tmp_path: Any) -> None:
    # Two handlers alike to the letter in two files: their code objects compare equal, their traces
    # must still each name their own file.
    import importlib.util

    handlers = []
    for name in ("first", "second"):
        path = tmp_path / f"{name}.py"
        path.write_text("def handler(event):\n    raise ValueError('boom')\n", encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"stack_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handlers.append((path, module.handler))
    for path, handler in handlers:
        result = run_task(lambda_arn("f"), {"f": handler}, {})
        frames = json.loads(result.cause)["stackTrace"]
        assert any(f'File "{path}", line 2, in handler' in frame for frame in frames), frames


def test_catch_receives_error_and_cause() -> None:
    def handler(_event: Any) -> None:
        raise ValueError("bad value")

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": lambda_arn("f"),
                "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.err", "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    result = expressway.StateMachine(definition).run({"in": 1}, tasks={"f": handler})
    assert result.status == "SUCCEEDED"
    assert result.output["in"] == 1
    assert result.output["err"]["Error"] == "ValueError"
    assert json.loads(result.output["err"]["Cause"])["errorMessage"] == "bad value"


def test_retry_calls_the_handler_again() -> None:
    calls = []

    def flaky(event: Any) -> Any:
        calls.append(event)
        if len(calls) < 3:
            raise expressway.TaskFailed("Busy", "try later")
        return "ok"

    result = run_task(
        lambda_arn("f"),
        {"f": flaky},
        {"x": 1},
        Retry=[{"ErrorEquals": ["Busy"], "IntervalSeconds": 30, "MaxAttempts": 5}],
    )
    assert (result.status, result.output) == ("SUCCEEDED", "ok")
    assert calls == [{"x": 1}] * 3


def test_a_retry_after_a_result_path_failure_calls_again_with_the_same_input() -> None:
    # The merge fails after it has begun; the retry goes on from the state's raw input as it was.
    calls = []

    def handler(event: Any) -> int:
        calls.append(event)
        return 1

    result = run_task(
        lambda_arn("f"),
        {"f": handler},
        {"a": {"keep": 1}, "z": 2},
        ResultPath="$.a.new[0]",
        Retry=[{"ErrorEquals": ["States.ResultPathMatchFailure"], "MaxAttempts": 1}],
    )
    assert result.error == "States.ResultPathMatchFailure"
    assert calls == [{"a": {"keep": 1}, "z": 2}] * 2


def _caught_output(task: dict[str, Any], input: Any, handler: Any, **catcher: Any) -> Any:
    """The output (JSON text) of a Task whose failure Catchers of every error take (States.ALL, and
    States.DataLimitExceeded, which States.ALL does not catch): into ``$.err``, or as the ``catcher``
    fields say."""
    catcher = catcher or {"ResultPath": "$.err"}
    errors = (["States.DataLimitExceeded"], ["States.ALL"])
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": lambda_arn("f"),
                **task,
                "Catch": [{"ErrorEquals": names, **catcher, "Next": "Caught"} for names in errors],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    result = expressway.StateMachine(definition).run(input, tasks={"f": handler}, time_scale=0)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result.output_json


@pytest.mark.parametrize(
    ("task", "error"),
    [
        ({"ResultPath": "$.a.new[0]"}, "States.ResultPathMatchFailure"),
        ({"ResultPath": "$.z.new[0]"}, "States.ResultPathMatchFailure"),
        # The result fits, the input with it does not: the limit fails after the merge.
        ({"ResultPath": "$.a.big"}, "States.DataLimitExceeded"),
        ({"ResultPath": "$.z", "OutputPath": "$"}, "States.DataLimitExceeded"),
    ],
)
def test_a_catch_after_the_output_failed_gets_the_raw_input(task: dict[str, Any], error: str) -> None:
    # What the merge added or replaced before the failure is gone from what the catcher sees, and
    # the keys keep their order (compared as JSON text).
    raw = {"a": {"keep": 1}, "z": 2, "pad": "p" * 100_000}
    big = error == "States.DataLimitExceeded"
    output = json.loads(_caught_output(task, raw, lambda _event: "x" * 200_000 if big else "x"))
    assert output.pop("err")["Error"] == error
    assert json.dumps(output) == json.dumps(raw)


def test_a_catch_after_a_jsonata_output_failed_gets_the_raw_input() -> None:
    task = {"QueryLanguage": "JSONata", "Output": "{% $states.result.missing.field %}"}
    output = _caught_output(task, {"a": [1, 2]}, lambda _event: {"x": 1}, Output="{% $states.input %}")
    assert json.loads(output) == {"a": [1, 2]}


def test_states_all_neither_catches_nor_retries_the_data_limit() -> None:
    # States.DataLimitExceeded is terminal: only its own name catches or retries it.
    calls = []

    def too_big(_event: Any) -> str:
        calls.append(1)
        return "x" * 300_000

    definition = task_machine(lambda_arn("f"), Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}])
    definition["States"]["T"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    result = expressway.StateMachine(definition).run({}, tasks={"f": too_big}, time_scale=0)
    assert (result.status, result.error, len(calls)) == ("FAILED", "States.DataLimitExceeded", 1)
    calls.clear()
    named = [{"ErrorEquals": ["States.DataLimitExceeded"], "MaxAttempts": 1}]
    result = run_task(lambda_arn("f"), {"f": too_big}, {}, Retry=named)
    assert (result.error, len(calls)) == ("States.DataLimitExceeded", 2)


def test_every_failure_keeps_its_lambda_cause_where_it_can_be_seen() -> None:
    # Failures a retrier takes are not reported anywhere (their cause is not even written), but the
    # last one, and every one in a recorded history, carries the Lambda runtime's error document.
    def always(_event: Any) -> Any:
        raise OrderRejected("no")

    retry = [{"ErrorEquals": ["OrderRejected"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    result = run_task(lambda_arn("f"), {"f": always}, {}, Retry=retry)
    assert (result.status, result.error) == ("FAILED", "OrderRejected")
    assert json.loads(result.cause)["errorMessage"] == "no"

    machine = expressway.StateMachine(task_machine(lambda_arn("f"), Retry=retry))
    driver = machine._start({}, None, {"f": always}, 0, None, 300, None, None, history=True).driver()
    driver.drive_sync()
    events = json.loads(driver.core.history_json())
    failed = [e["lambdaFunctionFailedEventDetails"] for e in events if e["type"] == "LambdaFunctionFailed"]
    assert len(failed) == 3
    for details in failed:
        assert json.loads(details["cause"])["errorType"] == "OrderRejected"


def test_result_that_is_not_json_fails_the_task() -> None:
    result = run_task(lambda_arn("f"), {"f": lambda _e: {1, 2}})
    assert result.status == "FAILED"
    assert result.error == "Runtime.MarshalError"


# ---------------------------------------------------------------- lambda:invoke


@pytest.mark.parametrize(
    "function_name", ["greet", lambda_arn("greet"), "123456789012:function:greet", "greet:prod"]
)
def test_lambda_invoke_passes_the_payload_and_wraps_the_result(function_name: str) -> None:
    received = []

    def greet(payload: dict[str, str]) -> dict[str, str]:
        received.append(payload)
        return {"hello": payload["who"]}

    result = run_task(
        LAMBDA_INVOKE,
        {"greet": greet},
        {"who": "you"},
        Parameters={"FunctionName": function_name, "Payload": {"who.$": "$.who"}},
    )
    assert result.status == "SUCCEEDED", result
    assert received == [{"who": "you"}]
    out = result.output
    assert out["Payload"] == {"hello": "you"}
    assert out["StatusCode"] == 200
    assert out["ExecutedVersion"] == "$LATEST"
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert out["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"] == "application/json"
    assert (
        out["SdkResponseMetadata"]["RequestId"] == out["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"]
    )


def test_lambda_invoke_without_a_payload_gives_the_function_an_empty_event() -> None:
    # An invocation with no payload: the function's event is {} (never the call's own parameters).
    for parameters in ({"FunctionName": "f", "Other": 1}, {"FunctionName": "f", "Payload": None}):
        result = run_task(LAMBDA_INVOKE, {"f": lambda event: event}, Parameters=parameters)
        assert result.output["Payload"] == {}


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        ('"HelloWorld"', "HelloWorld"),  # a string of JSON text is sent as the request body as it is
        ("{}", {}),
        ("[1, 2]", [1, 2]),
        ("0.5", 0.5),
        ("HelloWorld", "HelloWorld"),  # not JSON text: sent as a JSON string
        ({"a": "{}"}, {"a": "{}"}),  # only the payload itself is read that way
    ],
)
def test_lambda_invoke_sends_a_string_payload_as_the_request_body(payload: Any, event: Any) -> None:
    result = run_task(LAMBDA_INVOKE, {"f": lambda e: e}, Parameters={"FunctionName": "f", "Payload": payload})
    assert result.output["Payload"] == event


@pytest.mark.parametrize("resource", [lambda_arn("f"), LAMBDA_INVOKE])
def test_a_function_returning_bytes_returns_their_json(resource: str) -> None:
    # The Lambda Python runtime sends bytes as they are; Step Functions reads JSON text as JSON,
    # anything else as a string.
    parameters = {"Parameters": {"FunctionName": "f"}} if resource == LAMBDA_INVOKE else {}
    for returned, value in (
        (b'"HelloWorld!"', "HelloWorld!"),
        (b'{"a": [1]}', {"a": [1]}),
        (b"plain", "plain"),
    ):
        result = run_task(resource, {"f": lambda _e, r=returned: r}, {}, **parameters)
        output = result.output["Payload"] if resource == LAMBDA_INVOKE else result.output
        assert output == value, (resource, returned, result.error, result.cause)
    result = run_task(resource, {"f": lambda _e: b"\xff"}, {}, **parameters)
    assert result.error == "Runtime.MarshalError"


def test_lambda_invoke_reports_the_error_document_without_spaces() -> None:
    # Step Functions re-serialises the function's error payload for lambda:invoke; a Lambda ARN
    # resource passes the runtime's own text (with spaces) on.
    def handler(_event: Any) -> None:
        raise KeyError("missing")

    invoked = run_task(LAMBDA_INVOKE, {"f": handler}, Parameters={"FunctionName": "f", "Payload": {}})
    direct = run_task(lambda_arn("f"), {"f": handler}, {})
    assert invoked.cause is not None and direct.cause is not None
    assert invoked.cause.startswith('{"errorMessage":"\'missing\'","errorType":"KeyError","requestId":"')
    assert direct.cause.startswith('{"errorMessage": "\'missing\'", "errorType": "KeyError", "requestId": "')
    for cause in (invoked.cause, direct.cause):
        assert list(json.loads(cause)) == ["errorMessage", "errorType", "requestId", "stackTrace"]


def test_lambda_invoke_error_is_the_function_error() -> None:
    def handler(_event: Any) -> None:
        raise KeyError("missing")

    result = run_task(LAMBDA_INVOKE, {"f": handler}, Parameters={"FunctionName": "f", "Payload": {}})
    assert result.error == "KeyError"
    assert json.loads(result.cause)["errorType"] == "KeyError"


# ---------------------------------------------------------------- missing handlers


def test_missing_lambda_function() -> None:
    result = run_task(lambda_arn("nope"), {})
    assert result.status == "FAILED"
    assert result.error == "Lambda.ResourceNotFoundException"
    assert result.cause.startswith(
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope (Service: AWSLambda; "
        "Status Code: 404; Error Code: ResourceNotFoundException; Request ID: "
    )


def test_missing_lambda_invoke_function() -> None:
    result = run_task(
        LAMBDA_INVOKE, {"other": lambda e: e}, Parameters={"FunctionName": "nope", "Payload": {}}
    )
    assert result.error == "Lambda.ResourceNotFoundException"
    assert "arn:aws:lambda:us-east-1:123456789012:function:nope" in result.cause


def test_missing_handler_for_another_resource_names_it() -> None:
    result = run_task("arn:aws:states:::sns:publish", {}, Parameters={"Message": "hi", "TopicArn": "arn:x"})
    assert result.status == "FAILED"
    assert "arn:aws:states:::sns:publish" in result.cause


def test_tasks_must_map_names_to_callables() -> None:
    sm = expressway.StateMachine(task_machine(lambda_arn("f")))
    with pytest.raises(TypeError):
        sm.run(tasks={"f": "not callable"})  # type: ignore[dict-item]


# ---------------------------------------------------------------- timeouts


def test_sync_handler_slower_than_timeout_seconds(clock: FakeClock) -> None:
    def slow(event: Any) -> Any:
        clock.advance(3)
        return event

    sm = expressway.StateMachine(task_machine(lambda_arn("slow"), TimeoutSeconds=2))
    result = sm.run({}, tasks={"slow": slow}, clock=clock)
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert not result.cause


def test_async_handler_timeout_cancels_it() -> None:
    cancelled = []

    async def stuck(_event: Any) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    sm = expressway.StateMachine(task_machine(lambda_arn("stuck"), TimeoutSeconds=1))
    result = sm.run({}, tasks={"stuck": stuck})
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert cancelled == [True]


# ---------------------------------------------------------------- concurrency and cancellation


def test_map_iterations_run_handlers_concurrently() -> None:
    arrived = 0
    all_here = asyncio.Event()

    async def meet(item: int) -> int:
        nonlocal arrived
        arrived += 1
        if arrived == 4:
            all_here.set()
        await asyncio.wait_for(all_here.wait(), 5)  # would time out if the calls were made one by one
        return item * 10

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": lambda_arn("meet"), "End": True}},
                },
                "End": True,
            }
        },
    }
    result = expressway.StateMachine(definition).run([1, 2, 3, 4], tasks={"meet": meet})
    assert result.status == "SUCCEEDED", result
    assert result.output == [10, 20, 30, 40]


def test_cancelling_execute_aborts_and_leaves_nothing_running() -> None:
    forever = Forever()

    sm = expressway.StateMachine(task_machine(lambda_arn("forever")))

    async def main() -> None:
        task = asyncio.ensure_future(sm.execute({}, tasks={"forever": forever}))
        await forever.started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert forever.cancelled == 1
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_stop_a_started_execution() -> None:
    forever = Forever()

    sm = expressway.StateMachine(task_machine(lambda_arn("forever")))

    async def main() -> expressway.Result:
        execution = sm.start({}, tasks={"forever": forever}, name="stop-me")
        assert execution.name == "stop-me"
        await forever.started.wait()
        assert not execution.done()
        execution.stop("Stopped.ByUser", "enough")
        result = await execution
        assert execution.done()
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return result

    result = asyncio.run(main())
    assert (result.status, result.error, result.cause) == ("ABORTED", "Stopped.ByUser", "enough")
    assert forever.cancelled == 1


def test_a_failing_branch_cancels_the_handlers_of_the_others() -> None:
    finished: list[str] = []

    async def slow(_event: Any) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("cancelled")

    async def boom(_event: Any) -> None:
        await asyncio.sleep(0.01)
        raise expressway.TaskFailed("Boom", "branch failed")

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "S",
                        "States": {"S": {"Type": "Task", "Resource": lambda_arn("slow"), "End": True}},
                    },
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Task", "Resource": lambda_arn("boom"), "End": True}},
                    },
                ],
                "End": True,
            }
        },
    }
    sm = expressway.StateMachine(definition)

    async def main() -> expressway.Result:
        result = await sm.execute({}, tasks={"slow": slow, "boom": boom})
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return result

    result = asyncio.run(main())
    assert (result.status, result.error, result.cause) == ("FAILED", "Boom", "branch failed")
    assert finished == ["cancelled"]


# ---------------------------------------------------------------- event loops


def test_run_needs_no_event_loop_for_sync_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_loop(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("an event loop was created")

    monkeypatch.setattr(asyncio, "run", no_loop)
    monkeypatch.setattr(asyncio, "new_event_loop", no_loop)
    result = run_task(lambda_arn("f"), {"f": lambda e: e + 1}, 41)
    assert result.output == 42


def test_run_from_inside_a_running_loop() -> None:
    async def handler(event: int) -> int:
        await asyncio.sleep(0)
        return event * 2

    sm = expressway.StateMachine(task_machine(lambda_arn("f")))

    async def main() -> expressway.Result:
        return sm.run(21, tasks={"f": handler})

    assert asyncio.run(main()).output == 42


def test_many_concurrent_executions() -> None:
    async def handler(event: int) -> int:
        await asyncio.sleep(0)
        return event + 1

    sm = expressway.StateMachine(task_machine(lambda_arn("f")))

    async def main() -> list[expressway.Result]:
        return await asyncio.gather(*(sm.execute(i, tasks={"f": handler}) for i in range(200)))

    results = asyncio.run(main())
    assert [r.output for r in results] == [i + 1 for i in range(200)]
    assert len({r.execution_arn for r in results}) == 200
