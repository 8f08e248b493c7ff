"""Names, ARNs and the execution context that the core puts under ``$$``.

expressway pretends to be one AWS account in one region, as AWS would name things there.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "ROLE_ARN",
    "check_name",
    "execution_arn",
    "execution_context",
    "iso_timestamp",
    "state_machine_arn",
]

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/expressway"

# AWS: 1-80 characters, no whitespace, brackets, wildcards, special or control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 80 or _BAD_NAME.search(name):
        raise ValueError(
            f"invalid {what} name {name!r}: 1-80 characters, without whitespace, brackets, wildcards "
            "or special characters"
        )
    return name


def state_machine_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"


def execution_arn(machine_name: str, execution_name: str, machine_type: str) -> str:
    if machine_type == "EXPRESS":
        return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:express:{machine_name}:{execution_name}:{uuid.uuid4()}"
    return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{machine_name}:{execution_name}"


def iso_timestamp(epoch_ms: int) -> str:
    """``2026-11-26T00:15:51.123Z``: the form of ``$$.Execution.StartTime``."""
    seconds, millis = divmod(int(epoch_ms), 1000)
    moment = _dt.datetime.fromtimestamp(seconds, tz=_dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def execution_context(
    *, arn: str, name: str, start_ms: int, machine_arn: str, machine_name: str
) -> dict[str, object]:
    return {
        "execution_id": arn,
        "execution_name": name,
        "start_time": iso_timestamp(start_ms),
        "start_time_ms": int(start_ms),
        "role_arn": ROLE_ARN,
        "state_machine_id": machine_arn,
        "state_machine_name": machine_name,
    }
