"""Loading task handlers named on the command line or in a config file: ``module:object``,
``path/to/file.py:object``, or (for registrations made with :func:`expressway.task`) a bare module."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ._registry import registered_tasks
from ._resources import Handler

__all__ = ["LoadError", "load_handler", "load_tasks"]


class LoadError(ValueError):
    """A module or object that cannot be loaded; the message says which and why."""


def _import(module_name: str, what: str) -> ModuleType:
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise LoadError(f"{what}: no such file {module_name!r}")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise LoadError(f"{what}: cannot load {module_name!r}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(module_name)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import error is the user's to fix
        raise LoadError(f"{what}: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None


def _object(spec: str, what: str) -> Any:
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise LoadError(f"{what} must look like module:object or file.py:object, not {spec!r}")
    module = _import(module_name, what)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise LoadError(f"{what}: {module_name!r} has no attribute {attr!r}") from None


def load_tasks(spec: str, what: str = "--tasks") -> Mapping[str, Handler]:
    """``module:object`` (a mapping of handlers), or a bare ``module`` whose :func:`expressway.task`
    registrations apply."""
    if ":" not in spec.replace(os.sep, "/").rsplit("/", 1)[-1]:
        _import(spec, what)
        return registered_tasks()
    tasks = _object(spec, what)
    if not isinstance(tasks, Mapping):
        raise LoadError(f"{what}: {spec} must be a mapping of resource or function name to handler")
    return tasks


def load_handler(spec: str, what: str) -> Handler:
    handler = _object(spec, what)
    if not callable(handler):
        raise LoadError(f"{what}: {spec} is not callable")
    return handler
