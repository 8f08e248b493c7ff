"""The exceptions of the public API."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["InvalidDefinition", "TaskFailed"]


class InvalidDefinition(ValueError):
    """The state machine definition was rejected.

    ``str(exc)`` is AWS's message, e.g. ``Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED:
    These fields are required: [States] at /'``. ``code`` is the diagnostic code of the first problem
    (``SCHEMA_VALIDATION_FAILED``, ``INVALID_JSON_DESCRIPTION``, ...) and ``diagnostics`` lists every
    problem found, each a dict with ``severity``, ``code``, ``message`` and (usually) ``location``.
    """

    def __init__(self, message: str, code: str, diagnostics: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.diagnostics: list[dict[str, Any]] = list(diagnostics or [])

    def __str__(self) -> str:
        return self.message


class TaskFailed(Exception):
    """Raise from a task handler to fail the task with exactly this ``error`` and ``cause``.

    ``cause`` is a string; any other value is stored as its JSON text.
    """

    def __init__(self, error: str, cause: Any = None) -> None:
        if cause is not None and not isinstance(cause, str):
            cause = json.dumps(cause, ensure_ascii=False, separators=(",", ":"))
        super().__init__(error, cause)
        self.error: str = error
        self.cause: str | None = cause

    def __str__(self) -> str:
        return self.error if self.cause is None else f"{self.error}: {self.cause}"
