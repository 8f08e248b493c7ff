"""The outcome of one execution: :class:`Result` is the extension's class (one is made per
execution; see rust/py/src/result.rs)."""

from __future__ import annotations

from ._core import Result

__all__ = ["Result"]
