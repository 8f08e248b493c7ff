"""The command line: ``expressway run`` and ``expressway validate``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._context import check_name
from ._errors import InvalidDefinition
from ._machine import MACHINE_TYPES, StateMachine, validate

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input on the command line: reported on one line, exit code 2."""


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path!r} is not UTF-8 text") from None


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply") from None


def _load_tasks(spec: str) -> Mapping[str, Any]:
    """``module:object`` or ``path/to/file.py:object``; the object is a mapping of handlers."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--tasks must look like module:object or file.py:object, not {spec!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise UsageError(f"--tasks: no such file {module_name!r}")
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None:
                raise UsageError(f"--tasks: cannot load {module_name!r}")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import error is a usage error
        raise UsageError(f"--tasks: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    try:
        tasks = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"--tasks: {module_name!r} has no attribute {attr!r}") from None
    if not isinstance(tasks, Mapping):
        raise UsageError(f"--tasks: {spec} must be a mapping of resource or function name to handler")
    return tasks


def _cmd_run(args: argparse.Namespace) -> int:
    definition = _read_text(args.definition, "definition")
    _parse_json(definition, f"definition {args.definition!r}")
    if args.input_file is not None:
        input_text = _read_text(args.input_file, "input file")
        _parse_json(input_text, f"input file {args.input_file!r}")
    elif args.input is not None:
        input_text = args.input
        _parse_json(input_text, "--input")
    else:
        input_text = "{}"
    if args.name is not None:
        try:
            check_name(args.name, "execution")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    tasks = _load_tasks(args.tasks) if args.tasks else None
    try:
        machine = StateMachine(definition, type=args.type)
    except InvalidDefinition as exc:
        raise UsageError(str(exc)) from None
    try:
        result = machine.run(input_json=input_text, tasks=tasks, time_scale=args.time_scale, name=args.name)
    except ValueError as exc:  # the input was refused (run() reports everything else in the result)
        raise UsageError(str(exc)) from None
    print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    return EXIT_OK if result.status == "SUCCEEDED" else EXIT_FAILED


def _cmd_validate(args: argparse.Namespace) -> int:
    definition = _read_text(args.definition, "definition")
    diagnostics = validate(definition, type=args.type)
    ok = not any(d.get("severity") == "ERROR" for d in diagnostics)
    report = {"result": "OK" if ok else "FAIL", "diagnostics": diagnostics}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return EXIT_OK if ok else EXIT_FAILED


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="expressway", description="Run AWS Step Functions state machines (Express semantics) locally."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a state machine and print its result as JSON")
    run.add_argument("definition", metavar="DEFINITION.json", help="the ASL definition")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="JSON", help="the execution input as JSON text (default {})")
    source.add_argument("--input-file", metavar="FILE", help="read the execution input from FILE")
    run.add_argument(
        "--tasks",
        metavar="MODULE:OBJECT",
        help="a mapping of Task resources / Lambda function names to handlers (module or file.py)",
    )
    run.add_argument(
        "--time-scale",
        type=_non_negative_float,
        default=1.0,
        metavar="X",
        help="multiply Wait and retry pauses by X (0 skips them; default 1)",
    )
    run.add_argument("--type", choices=MACHINE_TYPES, default="EXPRESS", help="state machine type")
    run.add_argument("--name", help="the execution name (default: a UUID)")
    run.set_defaults(func=_cmd_run)

    check = commands.add_parser(
        "validate", help="print a definition's diagnostics; exit 1 when it is invalid"
    )
    check.add_argument("definition", metavar="DEFINITION.json", help="the ASL definition")
    check.add_argument("--type", choices=MACHINE_TYPES, default="EXPRESS", help="state machine type")
    check.set_defaults(func=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        message = " ".join(str(exc).split())
        print(f"expressway: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
