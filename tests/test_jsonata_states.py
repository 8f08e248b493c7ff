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


def test_distributed_map_item_batcher_with_expressions() -> None:
    result = run(
        {
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.list %}",
                "ItemBatcher": {
                    "MaxItemsPerBatch": "{% $states.input.size %}",
                    "BatchInput": {"tag": "{% $states.input.tag %}"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "X",
                    "States": {
                        "X": {"Type": "Pass", "Output": "{% $count($states.input.Items) %}", "End": True}
                    },
                },
                "End": True,
            }
        },
        {"list": [1, 2, 3, 4, 5], "size": 2, "tag": "t"},
    )
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [2, 2, 1]


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


def problems(definition: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The errors that creating ``definition`` raises, as (code, message, location)."""
    with pytest.raises(expressway.InvalidDefinition) as info:
        expressway.StateMachine(definition)
    return [
        (d["code"], d["message"], d.get("location", ""))
        for d in info.value.diagnostics
        if d["severity"] == "ERROR"
    ]


def jsonata_problems(states: dict[str, Any]) -> list[tuple[str, str, str]]:
    return problems({"QueryLanguage": JSONATA, "StartAt": next(iter(states)), "States": states})


def only_for(field: str, language: str) -> str:
    other = "JSONPath" if language == JSONATA else JSONATA
    return (
        f"The QueryLanguage is set to '{other}', "
        f"but field '{field}' is only supported for the '{language}' QueryLanguage"
    )


def test_jsonpath_state_in_a_jsonata_machine_is_rejected() -> None:
    definition = {
        "QueryLanguage": JSONATA,
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
    }
    message = "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
    assert problems(definition) == [("SCHEMA_VALIDATION_FAILED", message, "/States/A")]
    with pytest.raises(expressway.InvalidDefinition) as info:
        expressway.StateMachine(definition)
    assert (
        str(info.value)
        == f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {message} at /States/A'"
    )
    assert [d["location"] for d in expressway.validate(definition)] == ["/States/A"]


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Pass", "Parameters": {"a": 1}, "End": True}, "Parameters"),
        ({"Type": "Pass", "InputPath": "$.a", "End": True}, "InputPath"),
        ({"Type": "Pass", "ResultPath": "$.a", "End": True}, "ResultPath"),
        ({"Type": "Pass", "OutputPath": "$.a", "End": True}, "OutputPath"),
        (
            {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "TimeoutSecondsPath": "$.t",
                "End": True,
            },
            "TimeoutSecondsPath",
        ),
        (
            {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "ResultSelector": {"a": 1},
                "End": True,
            },
            "ResultSelector",
        ),
        (
            {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
                "End": True,
            },
            "ItemsPath",
        ),
        ({"Type": "Wait", "SecondsPath": "$.s", "End": True}, "SecondsPath"),
        ({"Type": "Fail", "ErrorPath": "$.e"}, "ErrorPath"),
    ],
)
def test_jsonpath_fields_in_a_jsonata_state_are_rejected(state: dict[str, Any], field: str) -> None:
    assert ("SCHEMA_VALIDATION_FAILED", only_for(field, "JSONPath"), "/States/A") in jsonata_problems(
        {"A": state}
    )


def test_fields_of_neither_language_keep_the_generic_message() -> None:
    assert jsonata_problems({"A": {"Type": "Pass", "Result": 1, "End": True}}) == [
        ("SCHEMA_VALIDATION_FAILED", "Field 'Result' is not supported", "/States/A")
    ]
    assert problems({"StartAt": "A", "States": {"A": {"Type": "Pass", "Bogus": 1, "End": True}}}) == [
        ("SCHEMA_VALIDATION_FAILED", "Field 'Bogus' is not supported", "/States/A")
    ]


def test_choice_variable_in_a_jsonata_state_is_rejected() -> None:
    states = {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "Condition": True, "Next": "D"}]},
        "D": {"Type": "Succeed"},
    }
    assert jsonata_problems(states) == [
        ("SCHEMA_VALIDATION_FAILED", only_for("Variable", "JSONPath"), "/States/C/Choices[0]")
    ]


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Pass", "Output": 1, "End": True}, "Output"),
        (
            {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Arguments": {},
                "End": True,
            },
            "Arguments",
        ),
    ],
)
def test_jsonata_fields_in_a_jsonpath_state_are_rejected(state: dict[str, Any], field: str) -> None:
    assert problems({"StartAt": "A", "States": {"A": state}}) == [
        ("SCHEMA_VALIDATION_FAILED", only_for(field, JSONATA), "/States/A")
    ]


def test_condition_in_a_jsonpath_choice_rule_is_rejected() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Condition": True, "Next": "D"}]},
            "D": {"Type": "Succeed"},
        },
    }
    assert ("SCHEMA_VALIDATION_FAILED", only_for("Condition", JSONATA), "/States/C/Choices[0]") in problems(
        definition
    )


@pytest.mark.parametrize(
    ("state", "location"),
    [
        ({"Type": "Pass", "Output": "{% $$ %}", "End": True}, "/States/A/Output"),
        ({"Type": "Pass", "Output": {"v": ["{% $$.Execution.Id %}"]}, "End": True}, "/States/A/Output/v[0]"),
        ({"Type": "Pass", "Output": "{% $states.input.items[$$.x = 1] %}", "End": True}, "/States/A/Output"),
        (
            {"Type": "Pass", "Output": "{% $map([1], function($v){ $$ }) %}", "End": True},
            "/States/A/Output",
        ),
        ({"Type": "Pass", "Assign": {"a": "{% $$ %}"}, "End": True}, "/States/A/Assign/a"),
    ],
)
def test_reference_to_the_context_variable_is_rejected(state: dict[str, Any], location: str) -> None:
    assert jsonata_problems({"A": state}) == [
        ("UNSUPPORTED_JSONATA_EXPRESSION", "Reference to '$$' is not supported.", location)
    ]


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        ("phone", "phone"),
        ("phone.number", "phone"),
        ("$states.input.a & phone", "phone"),
        ("$count(items)", "items"),
        ("flag ? 1 : 2", "flag"),
        ("{'k': v}", "v"),
    ],
)
def test_field_name_at_the_top_level_is_rejected(expression: str, name: str) -> None:
    states = {"E": {"Type": "Pass", "Output": {"v": "{% " + expression + " %}"}, "End": True}}
    assert jsonata_problems(states) == [
        (
            "UNSUPPORTED_JSONATA_EXPRESSION",
            f"Reference to '{name}' at the top level is not supported.",
            "/States/E/Output/v",
        )
    ]


def test_unsupported_expressions_in_condition_and_wait_fields_give_one_problem() -> None:
    choice = {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% ok %}", "Next": "D"}]},
        "D": {"Type": "Succeed"},
    }
    assert jsonata_problems(choice) == [
        (
            "UNSUPPORTED_JSONATA_EXPRESSION",
            "Reference to 'ok' at the top level is not supported.",
            "/States/C/Choices[0]/Condition",
        )
    ]
    wait = {"W": {"Type": "Wait", "Seconds": "{% $$.seconds %}", "End": True}}
    assert jsonata_problems(wait) == [
        ("UNSUPPORTED_JSONATA_EXPRESSION", "Reference to '$$' is not supported.", "/States/W/Seconds")
    ]


def test_nested_field_names_are_allowed() -> None:
    result = run(
        {
            "A": {
                "Type": "Pass",
                "Output": {
                    "cheap": "{% $states.input.items[price > 10].sku %}",
                    "mapped": "{% $map($states.input.items, function($i){ $i.price }) %}",
                    "picked": "{% $states.input.{ 'b': b } %}",
                    "sorted": "{% $states.input.items^(>price).sku %}",
                },
                "End": True,
            }
        },
        {"items": [{"sku": "x", "price": 5}, {"sku": "y", "price": 20}], "b": 3},
    )
    assert result.output == {"cheap": "y", "mapped": [5, 20], "picked": {"b": 3}, "sorted": ["y", "x"]}


def test_invalid_expression_is_rejected_at_creation() -> None:
    with pytest.raises(expressway.InvalidDefinition) as info:
        machine({"A": {"Type": "Pass", "Output": {"x": "{% $states.input. %}"}, "End": True}})
    assert "/States/A/Output/x" in str(info.value)


def test_numeric_field_must_be_an_integer_or_an_expression() -> None:
    with pytest.raises(expressway.InvalidDefinition):
        machine({"W": {"Type": "Wait", "Seconds": "ten", "End": True}})
