"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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


class Forever:
    """An async task handler that only ends by being cancelled. ``calls`` counts its calls; ``started``
    is set once ``wait_for`` of them are under way; ``cancelled`` counts the calls that were cancelled.
    ``sleep`` is what it waits on (``VirtualClock.sleep`` for virtual time)."""

    def __init__(self, wait_for: int = 1, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.started = asyncio.Event()
        self.calls = 0
        self.cancelled = 0
        self._wait_for = wait_for
        self._sleep = sleep

    async def __call__(self, _event: Any) -> None:
        self.calls += 1
        if self.calls >= self._wait_for:
            self.started.set()
        try:
            await self._sleep(3600)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
