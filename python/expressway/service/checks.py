"""Checks on request members that AWS makes before an action runs, and the facts they rest on."""

from __future__ import annotations

import re
import time
from typing import Any

from .._context import check_name
from .._errors import InvalidDefinition
from .._machine import StateMachine
from .protocol import ServiceError

__all__ = [
    "MAX_DEFINITION",
    "MAX_PAYLOAD",
    "MAX_TAGS",
    "check_logging",
    "check_payload",
    "check_resource_name",
    "check_role",
    "check_tracing",
    "compile_machine",
    "invalid_arn",
    "now",
    "parse_arn",
    "payload_size",
    "tags_from",
]

MAX_PAYLOAD = 262_144
"""Execution input and output: 256 KiB as UTF-8."""

MAX_DEFINITION = 1_048_576
MAX_TAGS = 50

ARN_PREFIX = re.compile(r"^arn:aws[a-zA-Z-]*:states:([a-z0-9-]+):(\d{12}):([A-Za-z]+):(.*)$")
LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")


def now() -> float:
    return time.time()


def invalid_arn(reason: str) -> ServiceError:
    return ServiceError("InvalidArn", f"Invalid Arn: '{reason}'")


def parse_arn(arn: str, *kinds: str) -> tuple[str, str]:
    """(resource type, rest) of a Step Functions ARN whose resource type is one of ``kinds``."""
    match = ARN_PREFIX.match(arn)
    if match is None:
        raise invalid_arn(f"Invalid ARN prefix: {arn}")
    kind, rest = match[3], match[4]
    if kind not in kinds or not rest:
        raise invalid_arn(f"Resource type not valid in this context: {kind}")
    return kind, rest


def check_role(arn: str) -> None:
    if not re.match(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/\S+$", arn):
        raise invalid_arn(
            f"Invalid ARN prefix: {arn}" if not arn.startswith("arn:") else f"Invalid role ARN: {arn}"
        )


def payload_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def check_payload(text: str, what: str) -> None:
    if payload_size(text) > MAX_PAYLOAD:
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value at '{what}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_PAYLOAD}",
        )


def tags_from(raw: list[Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ServiceError("ValidationException", "Each tag must be an object with a string 'key'")
        value = item.get("value", "")
        if not isinstance(value, str):
            raise ServiceError("ValidationException", f"The value of tag '{item['key']}' must be a string")
        # AWS's Tag shape: key 1-128 characters, value at most 256.
        if not 1 <= len(item["key"]) <= 128:
            raise ServiceError(
                "ValidationException",
                "1 validation error detected: Value at 'tags.key' failed to satisfy constraint: "
                "Member must have length between 1 and 128",
            )
        if len(value) > 256:
            raise ServiceError(
                "ValidationException",
                f"1 validation error detected: Value at 'tags.value' (tag '{item['key']}') failed to satisfy "
                "constraint: Member must have length less than or equal to 256",
            )
        tags[item["key"]] = value
    return tags


def check_logging(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {"level": "OFF", "includeExecutionData": False}
    level = config.get("level", "OFF")
    if level not in LOG_LEVELS:
        raise ServiceError(
            "InvalidLoggingConfiguration",
            f"Invalid Logging Configuration: 'level must be one of {', '.join(LOG_LEVELS)}, not {level!r}'",
        )
    include = config.get("includeExecutionData", False)
    if not isinstance(include, bool):
        raise ServiceError(
            "SerializationException", "Member 'loggingConfiguration.includeExecutionData' must be a boolean"
        )
    out = {"level": level, "includeExecutionData": include}
    if config.get("destinations"):
        out["destinations"] = config["destinations"]
    return out


def check_tracing(config: dict[str, Any] | None) -> dict[str, Any]:
    enabled = (config or {}).get("enabled", False)
    if not isinstance(enabled, bool):
        raise ServiceError(
            "InvalidTracingConfiguration", "Invalid Tracing Configuration: 'enabled must be a boolean'"
        )
    return {"enabled": enabled}


def check_resource_name(name: str) -> None:
    try:
        check_name(name, "")
    except ValueError:
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'") from None


def compile_machine(definition: str, machine_type: str, name: str, role_arn: str) -> StateMachine:
    try:
        return StateMachine(definition, type=machine_type, name=name, role_arn=role_arn)
    except InvalidDefinition as exc:
        raise ServiceError("InvalidDefinition", exc.message) from None
