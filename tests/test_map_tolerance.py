"""A Distributed Map's tolerated failures: ToleratedFailureCount and ToleratedFailurePercentage, given
literally or by a path (a percentage is a number from 0 to 100, fractions allowed)."""

from __future__ import annotations

from typing import Any

import pytest

import expressway


def distributed_map(**tolerance: Any) -> dict[str, Any]:
    """A Distributed Map over ``$.items`` whose iterations fail for the item 0."""
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Broken"}],
                "Default": "Fine",
            },
            "Broken": {"Type": "Fail", "Error": "Broken"},
            "Fine": {"Type": "Pass", "End": True},
        },
    }
    return {
        "StartAt": "M",
        "States": {
            "M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor, "End": True, **tolerance}
        },
    }


def run(definition: dict[str, Any], input: dict[str, Any]) -> expressway.Result:
    return expressway.StateMachine(definition).run(input)


# One item of four fails: 25% of them.
ITEMS = [0, 1, 2, 3]


@pytest.mark.parametrize(("percentage", "status"), [(25.5, "SUCCEEDED"), (25, "SUCCEEDED"), (24.5, "FAILED")])
def test_a_fractional_percentage_is_a_threshold_like_any_other(percentage: float, status: str) -> None:
    result = run(distributed_map(ToleratedFailurePercentage=percentage), {"items": ITEMS})
    assert result.status == status
    if status == "FAILED":
        assert result.error == "States.ExceedToleratedFailureThreshold"


@pytest.mark.parametrize("given", [25.5, "25.5", 100, 0.0])
def test_a_percentage_from_a_path_may_have_a_fraction(given: Any) -> None:
    result = run(distributed_map(ToleratedFailurePercentagePath="$.pct"), {"items": ITEMS, "pct": given})
    tolerated = float(given) >= 25
    assert result.status == ("SUCCEEDED" if tolerated else "FAILED"), (result.error, result.cause)


NOT_A_FLOAT = "The ToleratedFailurePercentagePath field refers to value"


@pytest.mark.parametrize(
    ("given", "cause"),
    [
        (100.1, "ToleratedFailurePercentage must be between 0 and 100."),
        (-1.1, "ToleratedFailurePercentage must be between 0 and 100."),
        ("many", f'{NOT_A_FLOAT} "many" which is not a valid float: $.pct'),
        ([1], f'{NOT_A_FLOAT} "[1]" which is not a valid float: $.pct'),
    ],
)
def test_a_percentage_from_a_path_outside_0_to_100_fails(given: Any, cause: str) -> None:
    result = run(distributed_map(ToleratedFailurePercentagePath="$.pct"), {"items": ITEMS, "pct": given})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause is not None and result.cause.endswith(cause), result.cause


@pytest.mark.parametrize("given", [100.5, -1, "10"])
def test_a_literal_percentage_outside_0_to_100_is_refused(given: Any) -> None:
    with pytest.raises(expressway.InvalidDefinition) as refused:
        expressway.StateMachine(distributed_map(ToleratedFailurePercentage=given))
    assert "/States/M/ToleratedFailurePercentage" in str(refused.value.diagnostics)


def test_a_count_stays_a_whole_number() -> None:
    with pytest.raises(expressway.InvalidDefinition):
        expressway.StateMachine(distributed_map(ToleratedFailureCount=1.5))
    assert run(distributed_map(ToleratedFailureCount=1), {"items": ITEMS}).status == "SUCCEEDED"
    assert run(distributed_map(ToleratedFailureCount=0), {"items": ITEMS}).status == "FAILED"
