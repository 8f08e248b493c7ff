"""Task handlers registered by decorator, for modules loaded with ``expressway serve --tasks module``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ._resources import Handler

__all__ = ["registered_tasks", "task"]

H = TypeVar("H", bound=Handler)

_REGISTERED: dict[str, Handler] = {}


def task(*keys: str) -> Callable[[H], H]:
    """Registers the decorated handler for these Task resources or Lambda function names (the same keys
    as ``tasks={...}`` of :meth:`StateMachine.run`)::

        @expressway.task("arn:aws:lambda:us-east-1:123456789012:function:Charge", "Charge")
        def charge(event): ...
    """
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise TypeError("expressway.task needs one or more non-empty resource or function names")

    def register(handler: H) -> H:
        if not callable(handler):
            raise TypeError(f"{handler!r} is not callable")
        for key in keys:
            _REGISTERED[key] = handler
        return handler

    return register


def registered_tasks() -> dict[str, Handler]:
    """A copy of every registration so far."""
    return dict(_REGISTERED)
