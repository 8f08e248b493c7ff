"""Workflow variables: Assign in both query languages and in Catch, `$name` in JSONPath fields, the
values from before the state (a swap), scopes of Parallel branches and Map iterations, and the limits."""

from __future__ import annotations

from typing import Any

import pytest

import expressway


def run(definition: dict[str, Any], data: Any = None, tasks: Any = None) -> expressway.Result:
    return expressway.StateMachine(definition).run(
        {} if data is None else data, tasks=tasks or {}, time_scale=0
    )


def test_jsonpath_assign_and_reference() -> None:
    result = run(
        {
            "StartAt": "Set",
            "States": {
                "Set": {
                    "Type": "Pass",
                    "Result": {"answer": 42},
                    "Assign": {"fromResult.$": "$.answer", "literal": "x", "nested": {"k": [1, 2]}},
                    "Next": "Use",
                },
                "Use": {
                    "Type": "Pass",
                    "Parameters": {
                        "a.$": "$fromResult",
                        "b.$": "$literal",
                        "c.$": "$nested.k[1]",
                        "d.$": "States.Format('{}-{}', $literal, $fromResult)",
                        "not": "$literal",
                    },
                    "End": True,
                },
            },
        }
    )
    assert result.output == {"a": 42, "b": "x", "c": 2, "d": "x-42", "not": "$literal"}


def test_assign_sees_the_values_from_before_the_state() -> None:
    jsonata = {
        "QueryLanguage": "JSONata",
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "Swap"},
            "Swap": {
                "Type": "Pass",
                "Assign": {"x": "{% $y %}", "y": "{% $x %}"},
                "Output": "{% $x %}",
                "Next": "Show",
            },
            "Show": {
                "Type": "Pass",
                "Output": {"x": "{% $x %}", "y": "{% $y %}", "in": "{% $states.input %}"},
                "End": True,
            },
        },
    }
    assert run(jsonata).output == {"x": 2, "y": 1, "in": 1}
    jsonpath = {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "Swap"},
            "Swap": {"Type": "Pass", "Assign": {"x.$": "$y", "y.$": "$x"}, "Next": "Show"},
            "Show": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": True},
        },
    }
    assert run(jsonpath).output == {"x": 2, "y": 1}


def test_variables_in_paths_choice_and_output_path() -> None:
    result = run(
        {
            "StartAt": "Set",
            "States": {
                "Set": {
                    "Type": "Pass",
                    "Assign": {"limit": 3, "items": [1, 2], "keep": {"v": 1}},
                    "Next": "C",
                },
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Variable": "$limit",
                            "NumericGreaterThan": 2,
                            "Assign": {"picked": "big"},
                            "Next": "M",
                        }
                    ],
                    "Default": "M",
                },
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$items",
                    "MaxConcurrencyPath": "$limit",
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                    "Next": "Out",
                },
                "Out": {"Type": "Pass", "OutputPath": "$keep", "End": True},
            },
        }
    )
    assert result.output == {"v": 1}


def test_undefined_jsonpath_variable_fails() -> None:
    result = run(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"a.$": "$nope"}, "End": True}}}
    )
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def test_inner_scopes_read_outer_variables_but_do_not_change_them() -> None:
    result = run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Outer",
            "States": {
                "Outer": {"Type": "Pass", "Assign": {"outer": "hello"}, "Next": "Map"},
                "Map": {
                    "Type": "Map",
                    "Items": [1, 2],
                    "Assign": {"outer": "after"},
                    "ItemProcessor": {
                        "StartAt": "In",
                        "States": {
                            "In": {
                                "Type": "Pass",
                                "Assign": {"inner": "{% $outer & '-' & $states.input %}"},
                                "Next": "Show",
                            },
                            "Show": {"Type": "Pass", "Output": "{% $inner %}", "End": True},
                        },
                    },
                    "Next": "Par",
                },
                "Par": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "B",
                            "States": {"B": {"Type": "Pass", "Output": "{% $outer %}", "End": True}},
                        },
                    ],
                    "Output": {"map": "{% $states.input %}", "par": "{% $states.result %}"},
                    "Next": "Check",
                },
                "Check": {
                    "Type": "Pass",
                    "Output": {"seen": "{% $states.input %}", "inner": "{% $exists($inner) %}"},
                    "End": True,
                },
            },
        }
    )
    assert result.output == {"seen": {"map": ["hello-1", "hello-2"], "par": ["after"]}, "inner": False}


def test_catch_assign_in_both_languages() -> None:
    def boom(_event: Any) -> Any:
        raise RuntimeError("no")

    for language, assign in (
        ("JSONPath", {"err.$": "$.Error"}),
        ("JSONata", {"err": "{% $states.errorOutput.Error %}"}),
    ):
        definition = {
            "QueryLanguage": language,
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:111111111111:function:boom",
                    "Assign": {"never": 1},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": assign, "Next": "Show"}],
                    "End": True,
                },
                "Show": {"Type": "Pass", "End": True},
            },
        }
        if language == "JSONPath":
            definition["States"]["Show"]["Parameters"] = {"err.$": "$err"}
        else:
            definition["States"]["Show"]["Output"] = {"err": "{% $err %}", "never": "{% $exists($never) %}"}
        output = run(definition, tasks={"boom": boom}).output
        assert output["err"] == "RuntimeError"
        if language == "JSONata":
            assert output["never"] is False


def test_variable_size_limit() -> None:
    result = run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Big",
            "States": {
                "Big": {"Type": "Pass", "Assign": {"big": "{% $pad('', 262145, 'x') %}"}, "End": True}
            },
        }
    )
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def _chain(assigns: list[dict[str, str]]) -> dict[str, Any]:
    """Pass states in a row, the i-th assigning assigns[i]."""
    names = [f"S{i}" for i in range(len(assigns))]
    states: dict[str, Any] = {}
    for i, (name, assign) in enumerate(zip(names, assigns, strict=True)):
        state: dict[str, Any] = {"Type": "Pass", "Assign": assign}
        if i + 1 < len(names):
            state["Next"] = names[i + 1]
        else:
            state["End"] = True
        states[name] = state
    return {"StartAt": names[0], "States": states}


def test_the_variables_of_an_execution_are_limited_to_10_mib() -> None:
    big = {"big": "x" * 250_000}  # each variable 250,002 bytes: 42 of them pass 10 MiB (10,485,760)
    over = run(_chain([{f"v{i}.$": "$.big"} for i in range(45)]), big)
    assert (over.status, over.error) == ("FAILED", "States.Runtime")
    assert "'S41'" in (over.cause or "")
    assert "The variables of the execution have a total size exceeding" in (over.cause or "")
    # Assigning the same names again replaces them: the total stays where it was.
    again = run(_chain([{f"v{i % 20}.$": "$.big"} for i in range(60)]), big)
    assert again.status == "SUCCEEDED", again.cause


@pytest.mark.parametrize("name", ["states", "1abc", "has-dash", "x" * 81])
def test_invalid_variable_names_are_rejected(name: str) -> None:
    with pytest.raises(expressway.InvalidDefinition):
        expressway.StateMachine(
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "Assign": {name: 1}, "End": True}}}
        )


def test_a_name_of_80_characters_is_accepted() -> None:
    name = "v" * 80
    result = run(
        {
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "Assign": {name: 1}, "Next": "Q"},
                "Q": {"Type": "Pass", "Parameters": {"v.$": "$" + name}, "End": True},
            },
        }
    )
    assert result.output == {"v": 1}
