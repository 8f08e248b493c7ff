"""AWS JSON 1.0, as the SDKs speak it to Step Functions: the request envelope, the field checks that
AWS's front end makes before an action runs, and the error shape.

A request is ``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Action>`` and a JSON object body. Every
error is HTTP 400 with ``{"__type": "<Name>", "message": "..."}``, the shape botocore turns into a
``ClientError`` whose code is the name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "TARGET_PREFIX",
    "Field",
    "ServiceError",
    "Shape",
    "check_fields",
    "decode_body",
    "encode",
    "error_body",
]

TARGET_PREFIX = "AWSStepFunctions."


class ServiceError(Exception):
    """An AWS error answer: ``name`` goes to ``__type``."""

    def __init__(self, name: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status


def encode(payload: Mapping[str, Any]) -> bytes:
    return orjson.dumps(payload)


def error_body(error: ServiceError) -> bytes:
    return orjson.dumps({"__type": error.name, "message": error.message})


def decode_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object. An empty body is an empty request, as AWS treats it."""
    if not body.strip():
        return {}
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ServiceError("SerializationException", f"The request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ServiceError(
            "SerializationException", f"The request body must be a JSON object, not {_json_type(payload)}"
        )
    return payload


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a structure"


@dataclass(frozen=True, slots=True)
class Field:
    """One request member: its JSON type (``str``, ``int``, ``bool``, ``list``, ``dict``), whether it is
    required, and the length or value bounds of AWS's model."""

    kind: type
    required: bool = False
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] | None = None


class Shape:
    """A request's members, with the required ones listed once for the checks."""

    __slots__ = ("fields", "required")

    def __init__(self, fields: Mapping[str, Field]) -> None:
        self.fields = dict(fields)
        self.required = tuple(name for name, spec in self.fields.items() if spec.required)


def check_fields(payload: Mapping[str, Any], shape: Shape) -> None:
    """Type checks (SerializationException, as AWS's deserializer) and then constraint checks
    (ValidationException with AWS's "N validation errors detected" wording). Unknown members are
    ignored, as AWS ignores them."""
    fields = shape.fields
    problems: list[str] = []
    for name, value in payload.items():
        spec = fields.get(name)
        if spec is None or value is None:
            continue
        if not _is_kind(value, spec.kind):
            raise ServiceError(
                "SerializationException",
                f"Member '{name}' must be {_kind_name(spec.kind)}, not {_json_type(value)}",
            )
        if spec.min is not None or spec.max is not None or spec.choices is not None:
            _check_constraints(name, value, spec, problems)
    for name in shape.required:
        if payload.get(name) is None:
            problems.append(f"Value null at '{name}' failed to satisfy constraint: Member must not be null")
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise ServiceError(
            "ValidationException", f"{count} validation {noun} detected: {'; '.join(problems)}"
        )


def _check_constraints(name: str, value: Any, spec: Field, problems: list[str]) -> None:
    size = len(value) if isinstance(value, (str, list)) else value if spec.kind is int else None
    noun = "have length" if spec.kind is not int else "have value"
    if size is not None and spec.min is not None and size < spec.min:
        problems.append(
            f"Value {_shown(value)} at '{name}' failed to satisfy constraint: "
            f"Member must {noun} greater than or equal to {spec.min}"
        )
    if size is not None and spec.max is not None and size > spec.max:
        problems.append(
            f"Value {_shown(value)} at '{name}' failed to satisfy constraint: "
            f"Member must {noun} less than or equal to {spec.max}"
        )
    if spec.choices is not None and value not in spec.choices:
        problems.append(
            f"Value {_shown(value)} at '{name}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(spec.choices)}]"
        )


def _is_kind(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is bool:
        return isinstance(value, bool)
    return isinstance(value, kind)


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", bool: "a boolean", list: "a list", dict: "a structure"}[kind]


def _shown(value: Any) -> str:
    """How AWS quotes a value in a validation message (long or sensitive strings are not echoed)."""
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 256 else "(long string)"
    if isinstance(value, list):
        return "(list)"
    return f"'{value}'"
