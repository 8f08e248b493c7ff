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

from typing import Final, final

# The function itself is the extension's (rust/py/src/lib.rs, where its docstring is): no Python
# layer between the caller and the evaluator. It raises JsonataError and returns UNDEFINED, the
# objects below, which it fetches from this module on first use.
from ._core import jsonata_evaluate

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
