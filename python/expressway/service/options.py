"""How the service behaves: its options."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServiceOptions"]


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """How the service behaves. ``keep_finished``: finished executions kept per state machine.
    ``max_inflight``: executions running at once in this process before starts are throttled.
    ``max_open``: asynchronous executions running at once before StartExecution answers
    ExecutionLimitExceeded. ``aws_strict``: refuse Describe/List/History/Stop for Express executions,
    as AWS does. ``express_max_duration``: the Express limit in seconds."""

    keep_finished: int = 1000
    max_inflight: int = 10_000
    max_open: int = 100_000
    aws_strict: bool = False
    express_max_duration: float = 300.0
