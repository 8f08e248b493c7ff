"""Type stub for the Rust extension ``expressway._core`` (built from rust/py)."""

from collections.abc import Callable, Mapping
from typing import Any

class DefinitionError(Exception):
    """args: (message: str, code: str, diagnostics: list[dict])"""

def validate(definition: str, machine_type: str = "EXPRESS") -> list[dict[str, Any]]: ...
def new_uuid() -> str: ...
def seed_ids(seed: int) -> None: ...
def exception_outcome(exc: BaseException, compact: bool = False) -> tuple[str, str | None]: ...
def lambda_error(message: str, error_type: str, frames: str, compact: bool = False) -> str: ...

class Program:
    start_at: str
    def __init__(self, definition: str, machine_type: str = "EXPRESS") -> None: ...
    timeout_seconds: int | None
    uses_context: bool
    warnings: list[dict[str, str]]
    def start(
        self, input_json: str, context: dict[str, Any], seed: int | None, history: bool = False
    ) -> Execution: ...
    def start_value(
        self, input: Any, context: dict[str, Any], seed: int | None, history: bool = False
    ) -> Execution: ...
    def bench(self, input_json: str, n: int) -> tuple[int, int, float]: ...

class Execution:
    status: str
    output: Any
    output_json: str | None
    error: str | None
    cause: str | None
    transitions: int
    def run(self, now_ms: int) -> list[tuple[Any, ...]]: ...
    def run_inline(
        self,
        now_ms: int,
        handlers: dict[str, Any],
        clock: Callable[[], float],
        clock_scale: float,
        deadline_ms: float,
        wake_sleeps: bool,
    ) -> tuple[list[tuple[Any, ...]], bool]: ...
    def ask_stop(self) -> None: ...
    def complete(self, token: int, result: Any) -> None: ...
    def complete_json(self, token: int, text: str) -> None: ...
    def submitted(self, token: int, response: Any) -> None: ...
    def fail(self, token: int, error: str, cause: str | None) -> None: ...
    def failure_goes_unseen(self, token: int, error: str) -> bool: ...
    def result(self, start_ms: float, end_ms: float, names: Any) -> Result: ...
    def wake(self, token: int) -> None: ...
    def stop(self, error: str | None = None, cause: str | None = None, now_ms: int | None = None) -> None: ...
    def time_out(self, now_ms: int | None = None) -> None: ...
    def history_json(self, include_data: bool = True) -> str: ...

class Result:
    """What an execution ended with.

    ``status`` is ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``. ``output`` (a parsed JSON value)
    and ``output_json`` (its JSON text) are set only when the execution succeeded; ``error`` and ``cause``
    only when it did not. ``duration`` is in seconds, ``transitions`` counts the state transitions taken.
    The output is made into Python values, or into JSON text, when first asked for.
    """

    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def cause(self) -> str | None: ...
    @property
    def transitions(self) -> int: ...
    @property
    def duration(self) -> float: ...
    @property
    def name(self) -> str:
        """The execution's name."""
    @property
    def execution_arn(self) -> str: ...
    @property
    def output(self) -> Any: ...
    @property
    def output_json(self) -> str | None: ...
    @property
    def succeeded(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """``status``, ``output``, ``error`` and ``cause`` as a JSON-ready dict."""
    __hash__: None  # type: ignore[assignment]

def jsonata_evaluate(
    expression: str,
    data: Any = ...,
    bindings: Mapping[str, Any] | None = None,
    *,
    timeout_ms: int | None = None,
    max_depth: int | None = None,
) -> Any:
    """``expressway.jsonata_evaluate`` (see its docstring); raises ``expressway.JsonataError``."""

def _jsonata_fast(expression: str, data: Any = ...) -> tuple[bool, Any]:
    """For the tests: the fast JSONata evaluator alone, ``(decided, result)``."""

def _jsonata_reference(expression: str, data: Any = ...) -> Any:
    """For the tests: jsonata-core alone."""

def _jsonata_state_both(expression: str, input: Any, variables: dict[str, Any]) -> tuple[bool, Any, Any]:
    """For the tests: a state's expression both ways, ``(decided, fast, jsonata-core's)``."""

class JsonataExpression:
    source: str
    def __init__(self, expression: str) -> None: ...
