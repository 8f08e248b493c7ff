"""The outcome of one execution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Result"]

_UNSET: Any = object()
_new = object.__new__


class Result:
    """What an execution ended with.

    ``status`` is ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``. ``output`` (a parsed JSON value)
    and ``output_json`` (its JSON text) are set only when the execution succeeded; ``error`` and ``cause``
    only when it did not. ``duration`` is in seconds, ``transitions`` counts the state transitions taken.
    The output is made into Python values, or into JSON text, when first asked for (each costs time in
    proportion to its size, and most callers want only one of them).
    """

    __slots__ = (
        "_core",
        "_names",
        "_output",
        "_output_json",
        "cause",
        "duration",
        "error",
        "status",
        "transitions",
    )

    def __init__(
        self,
        *,
        status: str,
        error: str | None,
        cause: str | None,
        transitions: int,
        duration: float,
        names: tuple[str, str] | Callable[[], tuple[str, str]],
        core: Any = None,
    ) -> None:
        self.status = status
        self.error = error
        self.cause = cause
        self.transitions = transitions
        self.duration = duration
        # (name, ARN), or what makes them when first asked for.
        self._names = names
        self._keep_core(core)

    @classmethod
    def _of_finished(cls, core: Any, duration: float, names: Callable[[], tuple[str, str]]) -> Result:
        """The Result of the finished core execution ``core``. (Its fields are set here directly: this
        runs once per execution, and a keyword call of ``__init__`` costs as much again.)"""
        result = _new(cls)
        result.status, result.error, result.cause, result.transitions = core.outcome()
        result.duration = duration
        result._names = names
        result._keep_core(core)
        return result

    def _keep_core(self, core: Any) -> None:
        # The core execution the output comes from (a succeeded one), until both forms of it have
        # been made; without it there is no output.
        if self.status == "SUCCEEDED" and core is not None:
            self._core = core
            self._output: Any = _UNSET
            self._output_json: str | Any | None = _UNSET
        else:
            self._core = self._output = self._output_json = None

    def _named(self) -> tuple[str, str]:
        if callable(self._names):
            self._names = self._names()
        return self._names

    @property
    def name(self) -> str:
        """The execution's name."""
        return self._named()[0]

    @property
    def execution_arn(self) -> str:
        return self._named()[1]

    @property
    def output(self) -> Any:
        if self._output is _UNSET:
            self._output = self._core.output
            self._release()
        return self._output

    @property
    def output_json(self) -> str | None:
        if self._output_json is _UNSET:
            self._output_json = self._core.output_json
            self._release()
        return self._output_json

    def _release(self) -> None:
        if self._output is not _UNSET and self._output_json is not _UNSET:
            self._core = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def to_dict(self) -> dict[str, Any]:
        """``status``, ``output``, ``error`` and ``cause`` as a JSON-ready dict."""
        return {"status": self.status, "output": self.output, "error": self.error, "cause": self.cause}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        fields = ("status", "output", "error", "cause", "transitions", "duration", "name", "execution_arn")
        return all(getattr(self, f) == getattr(other, f) for f in fields)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Without the output: it may be large (and asyncio's task reprs format results).
        return (
            f"Result(status={self.status!r}, error={self.error!r}, cause={self.cause!r}, "
            f"transitions={self.transitions}, duration={self.duration:.6f})"
        )
