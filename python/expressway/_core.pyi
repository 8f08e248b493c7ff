"""Type stub for the Rust extension ``expressway._core`` (built from rust/py)."""

from collections.abc import Callable, Mapping
from typing import Any

class DefinitionError(Exception):
    """args: (message: str, code: str, diagnostics: list[dict])"""

def validate(definition: str, machine_type: str = "EXPRESS") -> list[dict[str, Any]]: ...
def new_uuid() -> str: ...
def seed_ids(seed: int) -> None: ...

class Program:
    start_at: str
    def __init__(self, definition: str, machine_type: str = "EXPRESS") -> None: ...
    timeout_seconds: int | None
    uses_context: bool
    warnings: list[dict[str, str]]
    def start(
        self, input_json: str, context: dict[str, Any], seed: int, history: bool = False
    ) -> Execution: ...
    def start_value(
        self, input: Any, context: dict[str, Any], seed: int, history: bool = False
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
    def outcome(self) -> tuple[str, str | None, str | None, int]: ...
    def wake(self, token: int) -> None: ...
    def stop(self, error: str | None = None, cause: str | None = None, now_ms: int | None = None) -> None: ...
    def time_out(self, now_ms: int | None = None) -> None: ...
    def history_json(self, include_data: bool = True) -> str: ...

def jsonata_evaluate(
    expression: str,
    data: Any = ...,
    bindings: Mapping[str, Any] | None = None,
    *,
    timeout_ms: int | None = None,
    max_depth: int | None = None,
) -> Any:
    """``expressway.jsonata_evaluate`` (see its docstring); raises ``expressway.JsonataError``."""

class JsonataExpression:
    source: str
    def __init__(self, expression: str) -> None: ...
    def evaluate(
        self,
        data: Any,
        has_data: bool,
        bindings: dict[str, Any] | None,
        undefined: Any,
        seed: int | None,
        timeout_ms: int | None = None,
        max_depth: int | None = None,
    ) -> Any: ...
