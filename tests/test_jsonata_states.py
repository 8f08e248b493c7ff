"""JSONata states: QueryLanguage, Arguments / Output / Condition / Items / ItemSelector, numeric fields as
expressions, Fail's Error and Cause, Catch Output, `$states`, creation-time checks and runtime errors."""

from __future__ import annotations

from typing import Any

import pytest

import expressway

JSONATA = "JSONata"


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> expressway.StateMachine:
    definition = {"QueryLanguage": JSONATA, "StartAt": start or next(iter(states)), "States": states, **top}
    return expressway.StateMachine(definition)


def run(states: dict[str, Any], data: Any = None, tasks: Any = None, **top: Any) -> expressway.Result:
    return machine(states, **top).run({} if data is None else data, tasks=tasks or {}, time_scale=0)


def test_output_nested_expressions_and_literals() -> None:
    result = run(
        {
            "P": {
                "Type": "Pass",
                "Output": {
                    "sum": "{% $sum($states.input.xs) %}",
                    "list": [1, "{% $states.input.xs[0] %}", {"deep": "{% $uppercase($states.input.s) %}"}],
                    "plain": "$.not.a.path",
                    "almost": "{% not closed",
                },
                "End": True,
            }
        },
        {"xs": [1, 2, 3], "s": "abc"},
    )
    assert result.output == {
        "sum": 6,
        "list": [1, 1, {"deep": "ABC"}],
        "plain": "$.not.a.path",
        "almost": "{% not closed",
    }


def test_pass_without_output_passes_its_input_and_output_may_be_any_json() -> None:
    assert run({"P": {"Type": "Pass", "End": True}}, {"a": 1}).output == {"a": 1}
    assert run({"P": {"Type": "Pass", "Output": 0.5, "End": True}}).output == 0.5
    assert run({"P": {"Type": "Pass", "Output": "{% 'text' %}", "End": True}}).output == "text"


def test_task_arguments_result_and_output() -> None:
    seen: list[Any] = []

    def handler(event: Any) -> Any:
        seen.append(event)
        return {"doubled": event["n"] * 2}

    result = run(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:double",
                "Arguments": {"n": "{% $states.input.value %}"},
                "Output": {"in": "{% $states.input %}", "res": "{% $states.result.doubled %}"},
                "End": True,
            }
        },
        {"value": 21},
        tasks={"double": handler},
    )
    assert seen == [{"n": 21}]
    assert result.output == {"in": {"value": 21}, "res": 42}


def test_task_without_output_returns_its_result() -> None:
    result = run(
        {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f", "End": True}},
        {"x": 1},
        tasks={"f": lambda event: {"got": event}},
    )
    assert result.output == {"got": {"x": 1}}


def test_choice_condition_with_rule_output() -> None:
    states = {
        "C": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Output": {"size": "big"}},
            ],
            "Default": "Small",
            "Output": {"size": "default"},
        },
        "Big": {"Type": "Succeed"},
        "Small": {"Type": "Succeed"},
    }
    assert run(states, {"n": 11}).output == {"size": "big"}
    assert run(states, {"n": 1}).output == {"size": "default"}


def test_choice_condition_must_be_boolean() -> None:
    result = run(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n %}", "Next": "E"}],
                "Default": "E",
            },
            "E": {"Type": "Succeed"},
        },
        {"n": 3},
    )
    assert result.status == "FAILED"
    assert result.error == "States.QueryEvaluationError"


def test_choice_no_match_without_default() -> None:
    result = run(
        {
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% false %}", "Next": "E"}]},
            "E": {"Type": "Succeed"},
        }
    )
    assert (result.status, result.error) == ("FAILED", "States.NoChoiceMatched")


def test_map_items_item_selector_and_context() -> None:
    result = run(
        {
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.list %}",
                "ItemSelector": {
                    "index": "{% $states.context.Map.Item.Index %}",
                    "value": "{% $states.context.Map.Item.Value %}",
                    "tag": "{% $states.input.tag %}",
                },
                "MaxConcurrency": "{% 1 %}",
                "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
                "Output": {"n": "{% $count($states.result) %}", "all": "{% $states.result %}"},
                "End": True,
            }
        },
        {"list": ["a", "b"], "tag": "t"},
    )
    assert result.output == {
        "n": 2,
        "all": [{"index": 0, "value": "a", "tag": "t"}, {"index": 1, "value": "b", "tag": "t"}],
    }


def test_map_items_must_be_an_array() -> None:
    result = run(
        {
            "M": {
                "Type": "Map",
                "Items": "{% {'a': 1} %}",
                "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        }
    )
    assert result.error == "States.QueryEvaluationError"
    assert result.cause == (
        "An error occurred while executing the state 'M' (entered at the event id #2). "
        "The JSONata expression '{'a': 1}' specified for the field 'Items' returned an unexpected "
        "result type. Expected 'array', but was 'object' for value: {\"a\":1}"
    )


def test_parallel_arguments_and_output() -> None:
    result = run(
        {
            "P": {
                "Type": "Parallel",
                "Arguments": {"v": "{% $states.input.v + 1 %}"},
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {"A": {"Type": "Pass", "Output": "{% $states.input.v %}", "End": True}},
                    },
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                ],
                "Output": "{% $states.result %}",
                "End": True,
            }
        },
        {"v": 1},
    )
    assert result.output == [2, {"v": 2}]


def test_wait_seconds_and_timestamp_expressions() -> None:
    waited = run({"W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": True}}, {"s": 0})
    assert waited.output == {"s": 0}
    past = run(
        {"W": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "Output": {"ok": True}, "End": True}},
        {"t": "2016-03-14T01:59:00Z"},
    )
    assert past.output == {"ok": True}


def test_fail_error_and_cause_expressions() -> None:
    result = run(
        {
            "F": {
                "Type": "Fail",
                "Error": "{% $states.input.e %}",
                "Cause": "{% 'because ' & $states.input.c %}",
            }
        },
        {"e": "Boom", "c": "reasons"},
    )
    assert (result.status, result.error, result.cause) == ("FAILED", "Boom", "because reasons")


def test_catch_output_sees_error_output_and_input() -> None:
    def boom(_event: Any) -> Any:
        raise ValueError("bad")

    result = run(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:boom",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": {"err": "{% $states.errorOutput.Error %}", "in": "{% $states.input %}"},
                        "Next": "Done",
                    }
                ],
                "End": True,
            },
            "Done": {"Type": "Succeed"},
        },
        {"k": 1},
        tasks={"boom": boom},
    )
    assert result.output == {"err": "ValueError", "in": {"k": 1}}


def test_undefined_result_is_a_query_evaluation_error() -> None:
    result = run({"P": {"Type": "Pass", "Output": {"x": "{% $states.input.missing %}"}, "End": True}})
    assert result.error == "States.QueryEvaluationError"
    assert result.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "The JSONata expression '$states.input.missing' specified for the field 'Output/x' "
        "returned nothing (undefined)."
    )


def test_evaluation_error_names_the_expression_and_the_code() -> None:
    result = run({"P": {"Type": "Pass", "Output": "{% 1 + 'a' %}", "End": True}})
    assert result.error == "States.QueryEvaluationError"
    assert result.cause is not None and "'1 + 'a'' specified for the field 'Output'" in result.cause
    assert "T2002: The right side of the + operator must evaluate to a number" in result.cause


def test_query_evaluation_errors_can_be_caught() -> None:
    result = run(
        {
            "P": {
                "Type": "Pass",
                "Output": "{% $error('custom') %}",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        }
    )
    assert result.error == "States.QueryEvaluationError"
    caught = run(
        {
            "M": {
                "Type": "Map",
                "Items": "{% 5 %}",
                "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
                "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Succeed"},
        }
    )
    assert caught.status == "SUCCEEDED"
    assert caught.output["Error"] == "States.QueryEvaluationError"


def test_now_and_millis_use_the_execution_time() -> None:
    result = run(
        {"P": {"Type": "Pass", "Output": {"now": "{% $now() %}", "ms": "{% $millis() %}"}, "End": True}}
    )
    assert isinstance(result.output["ms"], int)
    assert (
        expressway.jsonata_evaluate("$toMillis(n)", data={"n": result.output["now"]}) == result.output["ms"]
    )


def test_random_and_uuid_work_in_states() -> None:
    result = run(
        {"P": {"Type": "Pass", "Output": {"r": "{% $random() %}", "u": "{% $uuid() %}"}, "End": True}}
    )
    assert 0 <= result.output["r"] < 1
    assert len(result.output["u"]) == 36


def test_states_context_and_execution_input() -> None:
    result = run(
        {"P": {"Type": "Pass", "Output": "{% $states.context.Execution.Input.a %}", "End": True}},
        {"a": "from input"},
    )
    assert result.output == "from input"


# ------------------------------------------------------------------------------------------- mixing


def test_jsonata_state_inside_a_jsonpath_machine_and_back() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Pass",
                "QueryLanguage": JSONATA,
                "Output": {"v": "{% $states.input.x * 2 %}"},
                "Next": "B",
            },
            "B": {"Type": "Pass", "Parameters": {"w.$": "$.v"}, "End": True},
        },
    }
    assert expressway.StateMachine(definition).run({"x": 4}).output == {"w": 8}


def test_jsonpath_state_in_a_jsonata_machine_is_rejected() -> None:
    with pytest.raises(expressway.InvalidDefinition):
        machine({"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}})


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Pass", "Parameters": {"a": 1}, "End": True},
        {"Type": "Pass", "InputPath": "$.a", "End": True},
        {"Type": "Pass", "ResultPath": "$.a", "End": True},
        {"Type": "Pass", "Result": 1, "End": True},
        {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:1:function:f",
            "TimeoutSecondsPath": "$.t",
            "End": True,
        },
    ],
)
def test_jsonpath_fields_in_a_jsonata_state_are_rejected(state: dict[str, Any]) -> None:
    with pytest.raises(expressway.InvalidDefinition):
        machine({"A": state})


def test_jsonata_fields_in_a_jsonpath_state_are_rejected() -> None:
    with pytest.raises(expressway.InvalidDefinition):
        expressway.StateMachine({"StartAt": "A", "States": {"A": {"Type": "Pass", "Output": 1, "End": True}}})


def test_invalid_expression_is_rejected_at_creation() -> None:
    with pytest.raises(expressway.InvalidDefinition) as info:
        machine({"A": {"Type": "Pass", "Output": {"x": "{% $states.input. %}"}, "End": True}})
    assert "/States/A/Output/x" in str(info.value)


def test_numeric_field_must_be_an_integer_or_an_expression() -> None:
    with pytest.raises(expressway.InvalidDefinition):
        machine({"W": {"Type": "Wait", "Seconds": "ten", "End": True}})
