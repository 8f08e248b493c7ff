"""expressway: run AWS Step Functions state machines (Amazon States Language) locally, with the
semantics of Express workflows.

    >>> import expressway
    >>> sm = expressway.StateMachine({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": True}}})
    >>> sm.run({"x": 1}).output
    {'x': 1}
"""

from ._errors import InvalidDefinition, TaskFailed
from ._jsonata import UNDEFINED, JsonataError, jsonata_evaluate
from ._machine import DEFAULT_MAX_DURATION, Execution, StateMachine, TaskContext, VirtualClock, validate
from ._registry import task
from ._resources import Handler
from ._result import Result

__all__ = [
    "DEFAULT_MAX_DURATION",
    "UNDEFINED",
    "Execution",
    "Handler",
    "InvalidDefinition",
    "JsonataError",
    "Result",
    "StateMachine",
    "TaskContext",
    "TaskFailed",
    "VirtualClock",
    "jsonata_evaluate",
    "task",
    "validate",
]

__version__ = "0.1.0"
