"""Helpers shared by the tests."""

from __future__ import annotations

from typing import Any

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def task_machine(resource: str, **fields: Any) -> dict[str, Any]:
    """A one-Task state machine."""
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}}}


def lambda_arn(name: str) -> str:
    return LAMBDA_ARN.format(name)


class FakeClock:
    """Epoch milliseconds that move only when told to."""

    def __init__(self, start_ms: float = 1_790_000_000_000.0) -> None:
        self.now = start_ms

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds * 1000.0
