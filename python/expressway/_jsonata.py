"""JSONata expressions, evaluated by the engine's own evaluator (JSONata 2.0, as AWS Step Functions
runs it, with AWS's functions ``$partition``, ``$range``, ``$hash``, ``$random``, ``$uuid`` and
``$parse``; ``$eval`` is not available).

    >>> import expressway
    >>> expressway.jsonata_evaluate("$sum(items.price)", {"items": [{"price": 2}, {"price": 3.5}]})
    5.5
    >>> expressway.jsonata_evaluate("missing", {}) is expressway.UNDEFINED
    True
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final, final

from . import _core

__all__ = ["UNDEFINED", "JsonataError", "Undefined", "jsonata_evaluate"]


@final
class Undefined:
    """The type of :data:`UNDEFINED`: what an expression yields when it yields nothing."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "expressway.UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = Undefined()
"""The result of an expression that yields nothing (JSONata's ``undefined``), e.g. a path that
matches no field. Distinct from ``None``, which is JSON ``null``."""


class JsonataError(Exception):
    """A JSONata expression failed to compile or to evaluate.

    ``code`` is the JSONata error code: ``S0xxx`` for syntax errors (``S0202``), ``T0xxx`` -
    ``T2xxx`` for type errors (``T2001``: a non-number operand of ``+``), ``D1xxx`` - ``D3xxx``
    for evaluation errors (``D3001``), ``U1001`` when the evaluation went too deep or ran too
    long. ``message`` is the text without the code."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class _Missing:
    def __repr__(self) -> str:
        return "<no input>"


_MISSING: Final = _Missing()


@functools.lru_cache(maxsize=1024)
def _compile(expression: str) -> _core.JsonataExpression:
    return _core.JsonataExpression(expression)


def jsonata_evaluate(
    expression: str,
    data: Any = _MISSING,
    bindings: Mapping[str, Any] | None = None,
    *,
    timeout_ms: int | None = None,
    max_depth: int | None = None,
) -> Any:
    """Evaluate the JSONata ``expression`` against ``data`` and return its result.

    - ``data``: the input (``$``), any JSON-like Python value (dict, list, str, int, float, bool,
      None). Leave it out for no input (``$`` is undefined); ``data=None`` is JSON ``null``.
      Dicts are read lazily: only what the expression reaches is converted (a path into a large
      document costs what the path costs), so a value that is not JSON-like raises ``TypeError``
      only when the expression reads it, and a dict the result passes on untouched is the
      caller's own object, not a copy.
    - ``bindings``: variables, by name without the ``$`` (``{"x": 1}`` makes ``$x`` 1).
    - ``timeout_ms`` (default 10 seconds) and ``max_depth`` (default: the evaluator's own bound)
      limit the evaluation; past either it fails with code ``U1001``.

    Returns the result as Python values (numbers that are whole are ``int``), or
    :data:`UNDEFINED` when the expression yields nothing. Raises :class:`JsonataError` for a
    syntax or evaluation error. Compiled expressions are cached, so evaluating the same text
    again does not parse it again.
    """
    if not isinstance(expression, str):
        raise TypeError(f"expression must be a str, not {type(expression).__name__}")
    has_data = data is not _MISSING
    bound: dict[str, Any] | None = None
    if bindings is not None:
        bound = bindings if type(bindings) is dict else dict(bindings)
    try:
        compiled = _compile(expression)
        return compiled.evaluate(
            data if has_data else None,
            has_data,
            bound,
            UNDEFINED,
            None,  # a fresh seed for $random() and $uuid()
            timeout_ms,
            max_depth,
        )
    except _core.JsonataError as e:
        code, message = e.args
        raise JsonataError(code, message) from None
