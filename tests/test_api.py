"""The embedded API: StateMachine, run/execute/start, Result, InvalidDefinition, validate."""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import re
import sys
import threading
import weakref
from typing import Any

import pytest

import expressway
from helpers import FakeClock, Forever, lambda_arn, task_machine

HELLO = {
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_run_returns_a_result() -> None:
    result = expressway.StateMachine(HELLO, name="Hello").run({"name": "world"}, name="exec-1")
    assert result.status == "SUCCEEDED"
    assert result.succeeded
    assert result.output == {"greeting": "Hello, world!"}
    assert json.loads(result.output_json) == result.output
    assert result.error is None and result.cause is None
    assert result.transitions >= 2
    assert result.duration >= 0
    assert result.name == "exec-1"
    assert re.fullmatch(
        rf"arn:aws:states:us-east-1:123456789012:express:Hello:exec-1:{UUID}", result.execution_arn
    )
    assert result.to_dict() == {"status": "SUCCEEDED", "output": result.output, "error": None, "cause": None}


def test_a_result_compares_by_value_shows_no_output_and_keeps_its_output() -> None:
    sm = expressway.StateMachine(HELLO, name="Hello")
    first = sm.run({"name": "same"}, name="e")
    second = sm.run({"name": "same"}, name="e")
    assert first != second  # the durations and ARNs differ
    assert first == first and first != {"status": "SUCCEEDED"}
    with pytest.raises(TypeError):
        hash(first)
    assert repr(first) == (
        f"Result(status='SUCCEEDED', error=None, cause=None, transitions={first.transitions}, "
        f"duration={first.duration:.6f})"
    )
    # Each form of the output is made once and is the same object after.
    assert first.output is first.output
    assert first.output_json is first.output_json
    assert first.output is first.output  # also once both forms exist
    failed = expressway.StateMachine(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": 'it\'s "bad"'}}}
    ).run()
    assert (failed.status, failed.error, failed.succeeded) == ("FAILED", "E", False)
    assert failed.cause == 'it\'s "bad"'
    assert failed.output is None and failed.output_json is None
    assert repr(failed).startswith(f"Result(status='FAILED', error='E', cause={failed.cause!r}, ")
    assert failed.to_dict() == {"status": "FAILED", "output": None, "error": "E", "cause": 'it\'s "bad"'}


def test_a_result_read_from_several_threads_at_once() -> None:
    # Its name and output are made on first access by Python code, during which another thread may
    # read the same Result: every reader gets the one value kept.
    sm = expressway.StateMachine({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    results = [sm.run({"a": list(range(50))}, time_scale=0) for _ in range(2000)]
    seen: dict[str, list[Any]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def read(attribute: str) -> None:
        start.wait()
        try:
            seen[attribute] = [getattr(result, attribute) for result in results]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [
            threading.Thread(target=read, args=(a,))
            for a in ("name", "execution_arn", "output", "output_json")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert [r.name for r in results] == seen["name"]
    assert all(f":{name}:" in arn for arn, name in zip(seen["execution_arn"], seen["name"], strict=True))
    assert all(r.output is out for r, out in zip(results, seen["output"], strict=True))


def test_a_result_copies_as_itself() -> None:
    result = expressway.StateMachine(HELLO).run({"name": "copy"})
    assert copy.copy(result) is result
    assert copy.deepcopy({"r": result})["r"] is result


def test_a_result_in_a_reference_cycle_is_collected() -> None:
    class Marker:
        pass

    result = expressway.StateMachine(HELLO).run({"name": "cycle"})
    marker = Marker()
    result.output["marker"] = marker
    result.output["result"] = result  # the Result holds its output, which holds the Result
    alive = weakref.ref(marker)
    del result, marker
    gc.collect()
    assert alive() is None


def test_definition_as_json_text_and_defaults() -> None:
    sm = expressway.StateMachine(json.dumps(HELLO))
    assert sm.start_at == "Greet"
    assert sm.type == "EXPRESS"
    assert sm.arn == "arn:aws:states:us-east-1:123456789012:stateMachine:" + sm.name
    result = sm.run({"name": "json"})
    assert result.output == {"greeting": "Hello, json!"}
    assert re.fullmatch(UUID, result.name)


def test_standard_execution_arn() -> None:
    result = expressway.StateMachine(HELLO, type="STANDARD", name="Std").run({"name": "x"}, name="e1")
    assert result.execution_arn == "arn:aws:states:us-east-1:123456789012:execution:Std:e1"


def test_no_input_means_empty_object_and_input_json() -> None:
    sm = expressway.StateMachine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    assert sm.run().output == {}
    assert sm.run(input_json='[1, 2.5, "x"]').output == [1, 2.5, "x"]
    with pytest.raises(TypeError):
        sm.run({"a": 1}, input_json="{}")


def test_input_that_is_not_json_is_refused() -> None:
    sm = expressway.StateMachine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ValueError, match="not valid JSON"):
        sm.run(input_json="{not json")
    with pytest.raises(ValueError):
        sm.run({"x": float("nan")})


def test_context_object() -> None:
    sm = expressway.StateMachine(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "Parameters": {
                        "id.$": "$$.Execution.Id",
                        "name.$": "$$.Execution.Name",
                        "input.$": "$$.Execution.Input",
                        "role.$": "$$.Execution.RoleArn",
                        "start.$": "$$.Execution.StartTime",
                        "machine.$": "$$.StateMachine.Id",
                        "machineName.$": "$$.StateMachine.Name",
                        "state.$": "$$.State.Name",
                    },
                    "End": True,
                }
            },
        },
        name="Ctx",
    )
    result = sm.run({"k": "v"}, name="run-7", clock=FakeClock(1_790_000_000_123.0))
    out = result.output
    assert out["id"] == result.execution_arn
    assert out["name"] == "run-7"
    assert out["input"] == {"k": "v"}
    assert out["role"] == "arn:aws:iam::123456789012:role/expressway"
    assert out["start"] == "2026-09-21T14:13:20.123Z"
    assert out["machine"] == "arn:aws:states:us-east-1:123456789012:stateMachine:Ctx"
    assert out["machineName"] == "Ctx"
    assert out["state"] == "P"


def test_seed_makes_random_results_repeatable() -> None:
    sm = expressway.StateMachine(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "Parameters": {"u.$": "States.UUID()", "r.$": "States.MathRandom(0, 1000000)"},
                    "End": True,
                }
            },
        }
    )
    assert sm.run(seed=7).output == sm.run(seed=7).output
    assert sm.run(seed=7).output != sm.run(seed=8).output


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError):
        expressway.StateMachine(HELLO, type="express")
    with pytest.raises(ValueError):
        expressway.StateMachine(HELLO, name="has space")
    sm = expressway.StateMachine(HELLO)
    with pytest.raises(ValueError):
        sm.run({}, name="x" * 81)
    with pytest.raises(ValueError):
        sm.run({}, time_scale=-1)
    with pytest.raises(TypeError):
        expressway.StateMachine(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- invalid definitions


def test_invalid_definition_carries_aws_message_code_and_diagnostics() -> None:
    with pytest.raises(expressway.InvalidDefinition) as info:
        expressway.StateMachine({"StartAt": "A"})
    exc = info.value
    assert str(exc) == (
        "Invalid State Machine Definition: "
        "'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
    )
    assert exc.code == "SCHEMA_VALIDATION_FAILED"
    assert {
        "severity": "ERROR",
        "code": "SCHEMA_VALIDATION_FAILED",
        "location": "/",
    }.items() <= exc.diagnostics[0].items()
    assert isinstance(exc, ValueError)


def test_invalid_definition_reports_every_problem_with_its_location() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Nowhere"},
            "B": {"Type": "Pass", "End": True, "Bogus": 1},
        },
    }
    with pytest.raises(expressway.InvalidDefinition) as info:
        expressway.StateMachine(definition)
    locations = [d.get("location", "") for d in info.value.diagnostics if d["severity"] == "ERROR"]
    assert any(loc.startswith("/States/A") for loc in locations), locations
    assert any(loc.startswith("/States/B") for loc in locations), locations


@pytest.mark.parametrize(
    "text",
    ["not a definition", "", "[1, 2]", '"StartAt"', "{" * 10_000, "[" * 10_000 + "]" * 10_000],
    ids=["not-json", "empty", "array", "string", "unclosed-deep", "deep"],
)
def test_definition_that_is_not_an_object(text: str) -> None:
    with pytest.raises(expressway.InvalidDefinition) as info:
        expressway.StateMachine(text)
    assert str(info.value).strip()
    assert info.value.code
    assert info.value.diagnostics


def test_deeply_nested_definition_object() -> None:
    nested: dict = {}
    inner = nested
    for _ in range(10_000):
        inner["x"] = {}
        inner = inner["x"]
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": nested, "End": True}}}
    with pytest.raises(expressway.InvalidDefinition) as info:
        expressway.StateMachine(definition)
    assert info.value.diagnostics
    assert expressway.validate(definition)


def test_validate() -> None:
    assert not [d for d in expressway.validate(HELLO) if d["severity"] == "ERROR"]
    diagnostics = expressway.validate({"States": {"S": {"Type": "Pass", "End": True}}})
    assert [(d["severity"], d["code"], d["message"]) for d in diagnostics] == [
        ("ERROR", "SCHEMA_VALIDATION_FAILED", "These fields are required: [StartAt]")
    ]
    assert expressway.validate("not a definition")[0]["code"] == "INVALID_JSON_DESCRIPTION"


def test_express_rejects_sync_integrations_but_standard_accepts_them() -> None:
    definition = task_machine(
        "arn:aws:states:::states:startExecution.sync", Parameters={"StateMachineArn": "x"}
    )
    with pytest.raises(expressway.InvalidDefinition, match=r"does not support '\.sync'"):
        expressway.StateMachine(definition)
    expressway.StateMachine(definition, type="STANDARD")


# ---------------------------------------------------------------- runtime errors are results


def test_runtime_errors_are_failed_results_not_exceptions() -> None:
    sm = expressway.StateMachine(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}}}
    )
    result = sm.run({"present": 1})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "$.missing" in result.cause
    assert result.output is None and result.output_json is None


def test_fail_state() -> None:
    sm = expressway.StateMachine(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
    )
    result = sm.run()
    assert (result.status, result.error, result.cause) == ("FAILED", "E", "C")


# ---------------------------------------------------------------- time


def test_time_scale_zero_skips_waits() -> None:
    sm = expressway.StateMachine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )
    assert sm.run({"a": 1}, time_scale=0).output == {"a": 1}


def test_waits_really_wait_and_time_scale_shrinks_them() -> None:
    sm = expressway.StateMachine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1000, "End": True}}}
    )

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sm.execute(time_scale=1), 0.05)
        result = await asyncio.wait_for(sm.execute({"b": 2}, time_scale=1e-5), 30)
        assert result.output == {"b": 2}

    asyncio.run(main())


def test_execution_times_out_after_max_duration(clock: FakeClock) -> None:
    def slow(event: object) -> object:
        clock.advance(400)
        return event

    sm = expressway.StateMachine(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:slow",
                    "Next": "P",
                },
                "P": {"Type": "Pass", "End": True},
            },
        }
    )
    result = sm.run({}, tasks={"slow": slow}, clock=clock)
    assert result.status == "TIMED_OUT"
    assert result.duration == pytest.approx(400)
    assert sm.run({}, tasks={"slow": slow}, clock=clock, max_duration=500).status == "SUCCEEDED"


def test_execution_deadline_cancels_running_handlers() -> None:
    forever = Forever()
    sm = expressway.StateMachine(task_machine(lambda_arn("forever")))

    async def main() -> expressway.Result:
        result = await sm.execute(tasks={"forever": forever}, max_duration=0.05)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return result

    result = asyncio.run(main())
    assert result.status == "TIMED_OUT"
    assert forever.cancelled == 1


def test_an_endless_loop_without_io_times_out(clock: FakeClock) -> None:
    ticks = iter(range(10**9))

    def moving_clock() -> float:
        return clock.now + next(ticks)  # one millisecond more at every look

    sm = expressway.StateMachine(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "C"},
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
                    "Default": "A",
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
    assert sm.run(clock=moving_clock, max_duration=0.003).status == "TIMED_OUT"


def test_outputs_with_many_and_long_keys_come_back_whole() -> None:
    """Object keys made into Python strings are reused per thread (short ones, a bounded number): an
    output with more distinct keys than are kept, long keys and repeated ones must come back whole."""
    many = {f"key{i}": i for i in range(3000)}
    long_key = "k" * 100
    records = [{"id": i, "name": f"n{i}", long_key: [i, {"nested": i}]} for i in range(50)]
    sm = expressway.StateMachine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    for _ in range(3):
        value = {"many": many, "records": records, "": "empty key", "ü": "non-ASCII key"}
        assert sm.run(value).output == value
