"""The in-Rust benchmark entry point runs whole executions and counts their transitions."""

from __future__ import annotations

import json

import pytest

from expressway import _core

LOOP = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.i", "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.i", "NumericLessThan": 3, "Next": "Inc"}],
            "Default": "Done",
        },
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"},
    },
}


def test_bench_counts_every_transition() -> None:
    program = _core.Program(json.dumps(LOOP))
    executions, transitions, seconds = program.bench("{}", 5)
    # Init, then Check+Inc three times, then Check and Done: 9 transitions per execution.
    assert (executions, transitions) == (5, 45)
    assert seconds >= 0.0


def test_bench_refuses_workloads_that_need_tasks() -> None:
    task = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True}},
    }
    with pytest.raises(ValueError, match="needs a task"):
        _core.Program(json.dumps(task)).bench("{}", 1)
