"""Execution history recorded by the core (GetExecutionHistory's event shape), driven by hand
through ``expressway._core``: run -> effects -> complete/fail/wake -> run."""

from __future__ import annotations

import json

from expressway import _core

CONTEXT = {
    "execution_id": "arn:aws:states:eu-west-1:111111111111:express:sm:ex1:ab",
    "execution_name": "ex1",
    "role_arn": "arn:aws:iam::111111111111:role/r",
}
T0 = 1_732_579_200_000

DEFINITION = json.dumps(
    {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": {"n": 1}, "Next": "T"},
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "ResultSelector": {"v.$": "$.Payload"},
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1}],
                "Next": "M",
            },
            "M": {
                "Type": "Map",
                "ItemsPath": "$.v.items",
                "ItemProcessor": {
                    "StartAt": "X",
                    "States": {"X": {"Type": "Pass", "End": True}},
                },
                "End": True,
            },
        },
    }
)


def only(effects, kind):
    found = [e for e in effects if e[0] == kind]
    assert len(found) == 1, effects
    return found[0]


def test_history_of_a_run_driven_by_hand():
    ex = _core.Program(DEFINITION).start("{}", CONTEXT, 1, history=True)
    invoke = only(ex.run(T0), "invoke")
    assert invoke[2] == "arn:aws:states:::lambda:invoke"
    ex.fail(invoke[1], "Flaky", "try again")
    sleep = only(ex.run(T0 + 100), "sleep")
    ex.wake(sleep[1])
    invoke = only(ex.run(T0 + 1100), "invoke")
    ex.complete(invoke[1], {"Payload": {"items": [1, 2]}})
    assert ex.run(T0 + 1250) == [("done",)]
    assert ex.status == "SUCCEEDED"

    events = json.loads(ex.history_json())
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [e["previousEventId"] for e in events[:8]] == [0, 0, 2, 3, 4, 5, 6, 7]
    for e in events:
        assert list(e)[:4] == ["timestamp", "type", "id", "previousEventId"]
        assert len(e) <= 5
    assert events[0] == {
        "timestamp": 1732579200.0,
        "type": "ExecutionStarted",
        "id": 1,
        "previousEventId": 0,
        "executionStartedEventDetails": {
            "input": "{}",
            "inputDetails": {"truncated": False},
            "roleArn": "arn:aws:iam::111111111111:role/r",
        },
    }
    assert events[4]["taskScheduledEventDetails"] == {
        "resourceType": "lambda",
        "resource": "invoke",
        "region": "eu-west-1",
        "parameters": '{"FunctionName":"f","Payload":{"n":1}}',
    }
    assert events[6]["timestamp"] == 1732579200.1
    assert events[6]["taskFailedEventDetails"] == {
        "resourceType": "lambda",
        "resource": "invoke",
        "error": "Flaky",
        "cause": "try again",
    }
    assert events[9]["timestamp"] == 1732579201.25
    assert events[10]["stateExitedEventDetails"] == {
        "name": "T",
        "output": '{"v":{"items":[1,2]}}',
        "outputDetails": {"truncated": False},
    }
    assert events[12]["mapStateStartedEventDetails"] == {"length": 2}
    assert events[14]["mapIterationStartedEventDetails"] == {"name": "M", "index": 1}
    assert "ParallelStateStarted" not in {e["type"] for e in events}
    assert events[-1]["executionSucceededEventDetails"] == {
        "output": "[1,2]",
        "outputDetails": {"truncated": False},
    }

    lean = json.loads(ex.history_json(include_data=False))
    assert [e["type"] for e in lean] == [e["type"] for e in events]
    assert lean[0]["executionStartedEventDetails"] == {
        "inputDetails": {"truncated": False},
        "roleArn": "arn:aws:iam::111111111111:role/r",
    }
    assert "parameters" not in lean[4]["taskScheduledEventDetails"]
    assert lean[-1]["executionSucceededEventDetails"] == {"outputDetails": {"truncated": False}}


def test_lambda_function_arn_and_stop_with_a_time():
    definition = json.dumps(
        {
            "StartAt": "L",
            "States": {
                "L": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
                    "TimeoutSeconds": 3,
                    "End": True,
                }
            },
        }
    )
    ex = _core.Program(definition).start_value({"k": "v"}, CONTEXT, 1, history=True)
    only(ex.run(T0), "invoke")
    ex.stop("Stopped", "by hand", now_ms=T0 + 500)
    assert ex.status == "ABORTED"
    events = json.loads(ex.history_json())
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "ExecutionAborted",
    ]
    assert events[2]["lambdaFunctionScheduledEventDetails"] == {
        "resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
        "input": '{"k":"v"}',
        "inputDetails": {"truncated": False},
        "timeoutInSeconds": 3,
    }
    assert "lambdaFunctionStartedEventDetails" not in events[3]
    assert events[4] == {
        "timestamp": 1732579200.5,
        "type": "ExecutionAborted",
        "id": 5,
        "previousEventId": 4,
        "executionAbortedEventDetails": {"error": "Stopped", "cause": "by hand"},
    }


def test_time_out_defaults_to_the_last_run_time():
    definition = '{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}'
    ex = _core.Program(definition).start("{}", CONTEXT, 1, history=True)
    only(ex.run(T0 + 42), "sleep")
    ex.time_out()
    last = json.loads(ex.history_json())[-1]
    assert last["type"] == "ExecutionTimedOut"
    assert last["timestamp"] == 1732579200.042
    assert last["executionTimedOutEventDetails"]["error"] == "States.Timeout"


def test_no_history_unless_asked():
    ex = _core.Program(DEFINITION).start("{}", CONTEXT, 1)
    only(ex.run(T0), "invoke")
    assert ex.history_json() == "[]"
    assert ex.history_json(include_data=False) == "[]"
