"""The command line: ``expressway run``, ``expressway validate`` and ``expressway serve``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._context import check_name
from ._errors import InvalidDefinition
from ._loader import LoadError, load_tasks
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
    try:
        return load_tasks(spec)
    except LoadError as exc:
        raise UsageError(str(exc)) from None


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


def _cmd_serve(args: argparse.Namespace) -> int:
    from .service.server import ConfigError, load_config, serve

    try:
        config = load_config(
            args.config,
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=True if args.access_log else None,
            aws_strict=True if args.aws_strict else None,
            region=args.region,
            account_id=args.account_id,
            keep_finished=args.keep_finished,
            max_inflight=args.max_inflight,
            task_modules=args.tasks or None,
        )
        return serve(config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


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

    srv = commands.add_parser("serve", help="serve the Step Functions API (for boto3, the AWS CLI, the SDKs)")
    srv.add_argument("--host", help="address to bind (default 127.0.0.1)")
    srv.add_argument("--port", type=int, help="port to listen on (default 8083)")
    srv.add_argument("--workers", type=int, metavar="N", help="worker processes sharing the port (default 1)")
    srv.add_argument("--config", metavar="FILE.toml", help="settings and [tasks] handlers (see the README)")
    srv.add_argument(
        "--tasks",
        action="append",
        metavar="MODULE",
        help="import MODULE: its @expressway.task registrations apply (MODULE:OBJECT: a mapping); repeatable",
    )
    srv.add_argument("--access-log", action="store_true", help="log every request")
    srv.add_argument(
        "--aws-strict",
        action="store_true",
        help="refuse Describe/List/History/Stop for Express executions, as AWS does",
    )
    srv.add_argument("--region", help="the region ARNs name (default us-east-1)")
    srv.add_argument("--account-id", metavar="ID", help="the account ARNs name (default 123456789012)")
    srv.add_argument("--keep-finished", type=int, metavar="N", help="finished executions kept per machine")
    srv.add_argument("--max-inflight", type=int, metavar="N", help="executions at once before throttling")
    srv.set_defaults(func=_cmd_serve)
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
