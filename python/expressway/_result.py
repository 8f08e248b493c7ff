"""The outcome of one execution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Result"]


@dataclass(frozen=True, slots=True)
class Result:
    """What an execution ended with.

    ``status`` is ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``. ``output`` (a parsed JSON value)
    and ``output_json`` (its JSON text) are set only when the execution succeeded; ``error`` and ``cause``
    only when it did not. ``duration`` is in seconds, ``transitions`` counts the state transitions taken.
    """

    status: str
    output: Any
    output_json: str | None
    error: str | None
    cause: str | None
    transitions: int
    duration: float
    name: str
    execution_arn: str

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def to_dict(self) -> dict[str, Any]:
        """``status``, ``output``, ``error`` and ``cause`` as a JSON-ready dict."""
        return {"status": self.status, "output": self.output, "error": self.error, "cause": self.cause}
